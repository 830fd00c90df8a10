"""The message catalogue: every Chinese text a template shows has its English."""

from __future__ import annotations

import re
from pathlib import Path

from yibao.web import i18n
from yibao.web.render import PAGE_NAMES, ROLE_NAMES, TEMPLATES

CALL = re.compile(r"""_\(\s*(["'])(.+?)\1\s*\)""")
PYTHON_KEYS = ["用户名或密码错误", "未结算", "已结算", "已冲销", "参保人数", "费用单数"]


def template_keys() -> set[str]:
    keys: set[str] = set()
    for path in TEMPLATES.glob("*.html"):
        keys |= {m.group(2) for m in CALL.finditer(path.read_text("utf-8"))}
    return keys


def test_every_template_text_has_an_english_translation() -> None:
    keys = template_keys() | set(PAGE_NAMES.values()) | set(ROLE_NAMES.values())
    keys |= set(PYTHON_KEYS)
    assert len(keys) > 100
    missing = sorted(k for k in keys if k not in i18n.EN)
    assert missing == []


def test_chinese_is_the_default_and_unknown_languages_fall_back_to_it() -> None:
    assert i18n.translate("zh", "参保人") == "参保人"
    assert i18n.translate("en", "参保人") == "Persons"
    assert i18n.translate("en", "不在目录里的文字") == "不在目录里的文字"


def test_templates_folder_is_packaged() -> None:
    assert (Path(TEMPLATES) / "base.html").exists()
