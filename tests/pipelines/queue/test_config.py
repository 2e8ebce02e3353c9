"""Queue configuration: file, then environment, then options; one-line errors naming the key."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.queue.config import ConfigError, load_config


def test_file_environment_options_in_that_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "queue.toml"
    conf.write_text('broker = "redis://10.0.0.5:6379/0"\nconcurrency = 3\nlease_seconds = 30\n')
    monkeypatch.delenv("DEVICEX_QUEUE_BROKER", raising=False)
    monkeypatch.setenv("DEVICEX_QUEUE_CONCURRENCY", "4")
    c = load_config(conf, {"lease_seconds": None})
    assert (c.broker, c.concurrency, c.lease_seconds) == ("redis://10.0.0.5:6379/0", 4, 30)
    assert load_config(conf, {"concurrency": 2}).concurrency == 2


@pytest.mark.parametrize(("text", "words"), [
    ("concurrency = 0\n", "concurrency must be at least 1"),
    ('broker = "amqp://x"\n', "broker must be a redis:// URL"),
    ("workers = 2\n", "unknown key 'workers'"),
    ("concurrency = \n", "not valid TOML"),
])
def test_bad_configuration_is_one_line(tmp_path: Path, text: str, words: str) -> None:
    conf = tmp_path / "queue.toml"
    conf.write_text(text)
    with pytest.raises(ConfigError, match=words) as err:
        load_config(conf)
    assert str(err.value).startswith(str(conf)) and "\n" not in str(err.value)
