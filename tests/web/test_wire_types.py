"""The UI's types of what it reads and sends, ``web/static/js/wire.d.ts``, are the server's:
``web/types.mjs`` makes them from ``bidserver/http/ui_schema.py``, and the committed file is what
it makes now. Tagged unions narrow on ``type``, and a wrong member is an error."""

from __future__ import annotations

import json
import subprocess

from bidserver.http.ui_schema import ui_schema

from .browser import REPO
from .test_typecheck import tsc

WEB = REPO / "web"
COMMITTED = WEB / "static" / "js" / "wire.d.ts"


def test_the_committed_declarations_are_made_from_the_servers_types(web_node_modules, tmp_path):
    fresh = tmp_path / "wire.d.ts"
    made = subprocess.run(["node", str(WEB / "types.mjs"), "--stdin", str(fresh)],
                          input=json.dumps(ui_schema()), capture_output=True, text=True,
                          timeout=120, cwd=REPO)
    assert made.returncode == 0, made.stderr
    assert fresh.read_text() == COMMITTED.read_text(), (
        "web/static/js/wire.d.ts is not what the server's types make: "
        "run `npm run types --prefix web`")


PROBE = """// @ts-check
/** @typedef {{import("{wire}").ServerMessage}} ServerMessage */
/** @typedef {{import("{wire}").ClientMessage}} ClientMessage */

/** @param {{ServerMessage}} message */
export function read(message) {{
  switch (message.type) {{
    case "welcome":
      // @ts-expect-error: a view has no lotz
      void message.view.lotz;
      return [message.view.lots[0]?.board?.[0]?.alias, message.you?.lots[0]?.max_bid];
    case "update":
      // @ts-expect-error: no event type is called so
      return message.events.filter((event) => event.type === "lot_extnded");
    case "bid_result":
      // @ts-expect-error: a bid's answer has no view
      return message.view;
    case "presence":
      return message.suppliers.map((s) => s.last_seen);
    default:
      return message.type === "pong" ? message.server_time : message.reason;
  }}
}}

/** @type {{ClientMessage}} */
export const bid = {{ type: "bid", bid_id: "b1", lot_id: "L1", amount: 100 }};
/** @type {{ClientMessage}} */
// @ts-expect-error: a ping carries no amount
export const ping = {{ type: "ping", client_time: 1, amount: 2 }};
"""


def test_the_declarations_narrow_on_the_type_and_refuse_a_wrong_member(web_node_modules, tmp_path):
    # An error that does not happen is one too: the `@ts-expect-error` is then unused.
    (tmp_path / "probe.js").write_text(PROBE.format(wire=COMMITTED.parent / "wire"))
    (tmp_path / "tsconfig.json").write_text(json.dumps(
        {"extends": str(WEB / "jsconfig.json"), "include": [], "files": ["probe.js"]}))
    checked = tsc(web_node_modules, tmp_path / "tsconfig.json")
    assert checked.returncode == 0, f"tsc on {tmp_path}/probe.js:\n{checked.stdout}{checked.stderr}"
