"""The rendered report: self-contained, every section present, every image a real PNG."""

import base64
import io
from html.parser import HTMLParser

import numpy as np
import polars as pl
import pytest
from matplotlib.image import imread

from reelrec.bench import BenchResult
from reelrec.errors import ReelrecError
from reelrec.models import create_model
from reelrec.report import SECTION_IDS, render_report


class _Collect(HTMLParser):
    """Every tag with its attributes, plus the text inside each section."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.section_images: dict[str, int] = {}
        self.section_missing: dict[str, int] = {}
        self.best_cells: dict[str | None, int] = {}
        self._section: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "section":
            self._section = attrs.get("id")
            self.section_images[self._section] = 0
            self.section_missing[self._section] = 0
        elif tag == "img" and self._section:
            self.section_images[self._section] += 1
        elif tag == "p" and attrs.get("class") == "missing" and self._section:
            self.section_missing[self._section] += 1
        elif tag == "td" and attrs.get("class") == "best":
            self.best_cells[self._section] = self.best_cells.get(self._section, 0) + 1


def _parse(path) -> _Collect:
    parser = _Collect()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_report_is_self_contained(report_path):
    text = report_path.read_text(encoding="utf-8")
    parsed = _parse(report_path)
    urls = [(tag, key, value) for tag, attrs in parsed.tags for key, value in attrs.items() if key in ("src", "href")]
    assert urls, "the report should have images and section links"
    for tag, key, value in urls:
        if key == "src":
            assert value.startswith("data:image/png;base64,"), (tag, value[:40])
        else:
            assert value.startswith("#"), (tag, value)  # in-page anchors only
    assert not [t for t, _ in parsed.tags if t in ("script", "link", "iframe", "object", "embed")]
    assert "url(" not in text and "@import" not in text


def test_every_section_is_present_with_its_plot(report_path):
    parsed = _parse(report_path)
    ids = [attrs["id"] for tag, attrs in parsed.tags if tag == "section"]
    assert ids == list(SECTION_IDS)
    for section in SECTION_IDS[1:]:  # the summary is a table, the rest are plots
        assert parsed.section_images[section] >= 1, section
        assert parsed.section_missing[section] == 0, section


def test_images_decode_as_png(report_path):
    parsed = _parse(report_path)
    images = [attrs["src"] for tag, attrs in parsed.tags if tag == "img"]
    assert len(images) >= len(SECTION_IDS) - 1
    for src in images:
        raw = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert raw[:8] == b"\x89PNG\r\n\x1a\n"
        pixels = imread(io.BytesIO(raw), format="png")
        assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 200
        assert float(np.std(pixels[..., :3])) > 0.01  # something was drawn


def test_summary_marks_the_best_and_reports_significance(report_path, bench_dir):
    bench = BenchResult.read(bench_dir)
    parsed = _parse(report_path)
    assert parsed.best_cells["summary"] == sum(len(models) for models in bench.best().values())
    text = report_path.read_text(encoding="utf-8")
    sig = bench.significance
    assert sig is not None and f"{sig.a} vs {sig.b} on ndcg@10" in text
    for model in ("popularity", "item-mean", "two-tower"):
        assert f"<td>{model}</td>" in text


def test_watch_time_section_tables_xauc_and_errors_by_video_length(report_path, bench_dir):
    bench = BenchResult.read(bench_dir)
    text = report_path.read_text(encoding="utf-8")
    section = text.split('<section id="watch-time"')[1].split("</section>")[0]
    for header in ("XAUC ↑", "XGAUC ↑", "XAUC time ↑", "MAE q1 ↓", "RMSE q5 ↓"):
        assert f"<th>{header}</th>" in section, header
    popularity = section.split("<td>popularity</td>")[1].split("</tr>")[0]
    assert popularity.count("<td>–</td>") == popularity.count("<td")  # ranking only: every cell a dash
    item_mean = bench.runs.filter(pl.col("model") == "item-mean")["xauc"].to_numpy()
    assert f"{item_mean.mean():.4f} ± {item_mean.std(ddof=1):.4f}" in section
    # One best per column: two regressors, 2 label + 2 watch-time XAUC columns, 5 MAE and 5 RMSE buckets.
    assert _parse(report_path).best_cells["watch-time"] == 14
    for seed, edges in bench.duration_edges().items():
        assert f"Seed {seed}: video_duration quintile edges over the test views {edges[0]:g}" in section


def test_artifact_without_data_shows_its_recorded_metrics(toy_dataset, tmp_path):
    model = create_model("popularity").fit(toy_dataset)
    metrics = {"ndcg@5": 0.2, "ndcg@10": 0.3, "recall@10": 0.4, "coverage@10": 0.1, "coverage@5": 0.05}
    history = [{"epoch": 1, "train_loss": 1.0, "val_loss": 1.2}, {"epoch": 2, "train_loss": 0.8, "val_loss": 1.1}]
    art = model.save(tmp_path / "art", dataset=toy_dataset,
                     metrics={"metrics": metrics, "history": history, "protocol": "kuairec",
                              "comparison": {"popularity": metrics, "ease": {**metrics, "ndcg@10": 0.35}}})
    out = render_report(art, tmp_path / "r.html")
    parsed = _parse(out)
    for section in ("training-curves", "metrics-at-k", "coverage"):
        assert parsed.section_images[section] == 1, section
    for section in ("per-user-ndcg", "cold-vs-warm", "popularity-bias", "predicted-vs-true"):
        assert parsed.section_missing[section] == 1, section
    text = out.read_text(encoding="utf-8")
    assert "give --data" in text and "<td>ease</td>" in text


def test_bad_sources_fail_with_a_clear_message(tmp_path, bench_dir):
    with pytest.raises(FileNotFoundError, match="no such bench directory or artifact"):
        render_report(tmp_path / "missing", tmp_path / "r.html")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReelrecError, match="neither a bench directory"):
        render_report(tmp_path / "empty", tmp_path / "r.html")
    with pytest.raises(ValueError, match="--data is for model artifacts"):
        render_report(bench_dir, tmp_path / "r.html", data=tmp_path)
    assert not (tmp_path / "r.html").exists()
