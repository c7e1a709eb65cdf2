"""Write small hub configs for tests, through the real loader."""

from __future__ import annotations

from pathlib import Path

from hub.config import HubConfig, load_config


def write_config(
    tmp_path: Path,
    cameras: list[str],
    *,
    db_url: str | None = None,
    segment_seconds: int = 60,
    backoff_max_s: float = 2.0,
    web_port: int = 8000,
    store: str = "{type: local, root: objects}",
    recording: bool = True,
    web: str = "",
    extra: str = "",
) -> Path:
    """A one-town district with one school holding `cameras` (YAML flow mappings);
    `extra`: more top-level YAML."""
    body = "\n".join(f"      - {c}" for c in cameras)
    db = db_url or "sqlite+aiosqlite:///hub.db"
    enabled = "true" if recording else "false"
    web_extra = f", {web}" if web else ""
    text = f"""
district: {{id: test, name: 测试区}}
towns: [{{id: t1, name: 东城镇}}]
schools:
  - id: s1
    name: 东城小学
    town: t1
    kind: primary
    kitchens: [{{id: main, name: 主厨房}}]
    cameras:
{body}
ingest: {{open_timeout_s: 3, backoff_initial_s: 0.2, backoff_max_s: {backoff_max_s}}}
recording: {{enabled: {enabled}, segment_seconds: {segment_seconds}, spool_dir: spool}}
storage: {{object_store: {store}}}
database: {{url: "{db}"}}
web: {{port: {web_port}{web_extra}}}
{extra}
"""
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def load_test_config(tmp_path: Path, cameras: list[str], **kwargs: object) -> HubConfig:
    return load_config(write_config(tmp_path, cameras, **kwargs))  # type: ignore[arg-type]
