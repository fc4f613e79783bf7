"""The UI's JavaScript type-checks (TypeScript's ``tsc`` on JSDoc, ``web/jsconfig.json``), and the
hand-written ``.d.ts`` files beside the vendored bundles declare exactly what the bundles export,
typed so that a wrong call is an error."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from .browser import REPO

WEB = REPO / "web"
VENDOR = WEB / "static" / "vendor"
BUNDLES = ("ui", "i18next", "uplot", "hpke")


def tsc(node_modules: Path, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(node_modules / ".bin" / "tsc"), "-p", str(config)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def test_the_ui_type_checks(web_node_modules):
    checked = tsc(web_node_modules, WEB / "jsconfig.json")
    assert checked.returncode == 0, f"tsc -p web/jsconfig.json:\n{checked.stdout}{checked.stderr}"


def exported_at_run_time(bundle: str) -> list[str]:
    """The names the bundle exports, as Node.js imports it."""
    script = f"const m = await import({json.dumps(VENDOR.joinpath(bundle + '.js').as_uri())});" \
             "console.log(JSON.stringify(Object.keys(m)))"
    imported = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True,
                              text=True, timeout=60)
    assert imported.returncode == 0, imported.stderr
    return sorted(json.loads(imported.stdout))


def declared_values(bundle: str) -> list[str]:
    """The values its .d.ts exports: ``export { a, b } from``, ``export declare const``."""
    source = VENDOR.joinpath(bundle + ".d.ts").read_text()
    text = re.sub(r"/\*.*?\*/|//[^\n]*", "", source, flags=re.S)
    names = [n.strip() for group in re.findall(r"^export\s*\{([^}]*)\}", text, re.M)
             for n in group.split(",") if n.strip()]
    return sorted(names + re.findall(r"^export declare (?:const|function|class) (\w+)", text, re.M))


PROBE = """
import {{ {ui} }} from "{vendor}/ui.js";
import i18next from "{vendor}/i18next.js";
import uPlot from "{vendor}/uplot.js";
import {{ CipherSuite, DhkemX25519HkdfSha256, HkdfSha256, Aes256Gcm }} from "{vendor}/hpke.js";

export const values = [{ui}, i18next, uPlot];

/** @param {{{{ start: number }}}} props */
function Counter({{ start }}) {{
  const [n, setN] = useState(start);
  // @ts-expect-error: a string is no number
  setN("one");
  const label = i18next.t("bids", {{ count: n }});
  return html`<button onClick=${{() => setN(n + 1)}}>${{label}}</button>`;
}}
render(html`<${{Counter}} start=${{1}} />`, document.body);
// @ts-expect-error: render needs a parent
render(html`<p />`);
// @ts-expect-error: a language is a string
i18next.changeLanguage(42);
/** @type {{import("{vendor}/ui.js").ComponentChildren}} */
export const children = [html`<p />`, "text"];
// @ts-expect-error: html makes vnodes, not strings
/** @type {{string}} */ export const text = html`<p />`;
/** @type {{uPlot.Options}} */
const options = {{ width: 640, height: 320, series: [{{}}, {{ label: "best bid" }}] }};
new uPlot(options, [[1, 2], [3, 4]], document.body);
/** @type {{uPlot.Options}} */
// @ts-expect-error: a width is a number
export const wrong = {{ width: "wide", height: 1, series: [] }};
const suite = new CipherSuite({{ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() }});
export const sealed = suite.seal({{ recipientPublicKey: await suite.kem.importKey("raw", new Uint8Array(32).buffer, true) }}, new Uint8Array(8).buffer);
// @ts-expect-error: a suite needs its KEM, KDF and AEAD
new CipherSuite({{ kem: new DhkemX25519HkdfSha256() }});
"""


def test_the_vendor_declarations_type_what_the_bundles_export(web_node_modules, tmp_path):
    for bundle in BUNDLES:
        assert declared_values(bundle) == exported_at_run_time(bundle), (
            f"web/static/vendor/{bundle}.d.ts declares other values than {bundle}.js exports")
    # Each export used as a value, right calls accepted, wrong ones refused (an error that does
    # not happen is one too: the `@ts-expect-error` is then unused).
    (tmp_path / "probe.js").write_text(
        PROBE.format(ui=", ".join(exported_at_run_time("ui")), vendor=VENDOR))
    (tmp_path / "tsconfig.json").write_text(json.dumps(
        {"extends": str(WEB / "jsconfig.json"), "include": [], "files": ["probe.js"]}))
    checked = tsc(web_node_modules, tmp_path / "tsconfig.json")
    assert checked.returncode == 0, f"tsc on {tmp_path}/probe.js:\n{checked.stdout}{checked.stderr}"
