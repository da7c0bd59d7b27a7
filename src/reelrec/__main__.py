"""``python -m reelrec`` runs the command-line interface (also what torchrun launches)."""

from reelrec.cli import main

if __name__ == "__main__":
    main()
