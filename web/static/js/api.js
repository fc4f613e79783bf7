// @ts-check
/**
 * The HTTP API from the browser: the session's bearer token on every request, and every error
 * as an `ApiProblem` carrying the server's machine-readable reason (RFC 9457 problem details),
 * which the pages turn into words with `reasonText`.
 */
import { token } from "./session.js";
import { t, has } from "./i18n.js";

export class ApiProblem extends Error {
  /**
   * @param {number} status
   * @param {string} reason
   * @param {string} detail
   * @param {Record<string, unknown>} [extra] other members (max_amount, field...)
   */
  constructor(status, reason, detail, extra = {}) {
    super(`${status} ${reason}${detail ? `: ${detail}` : ""}`);
    this.status = status;
    this.reason = reason;
    this.detail = detail;
    this.extra = extra;
  }
}

/**
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
export async function api(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { accept: "application/json" };
  const bearer = token();
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiProblem(0, "network_error", "");
  }
  const type = response.headers.get("content-type") || "";
  if (!response.ok) {
    if (type.includes("json")) {
      const problem = await response.json();
      const { reason, detail, status: _s, type: _t, title: _ti, error: _e, ...extra } = problem;
      throw new ApiProblem(response.status, reason || "internal_error", detail || "", extra);
    }
    throw new ApiProblem(response.status, "internal_error", "");
  }
  if (type.includes("json")) return response.json();
  return response.text();
}

/**
 * PUT raw bytes (a sealed bid document) with the session's token; the answer's JSON, or an
 * `ApiProblem` with the server's reason.
 * @param {string} path @param {Uint8Array} bytes @returns {Promise<any>}
 */
export async function putBytes(path, bytes) {
  const bearer = token();
  /** @type {Record<string, string>} */
  const headers = { "content-type": "application/octet-stream", accept: "application/json" };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const response = await fetch(path, { method: "PUT", headers, body: /** @type {BodyInit} */ (bytes) })
    .catch(() => { throw new ApiProblem(0, "network_error", ""); });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiProblem(response.status, answer.reason || "internal_error", answer.detail || "");
  return answer;
}

/**
 * Save what `path` answers (a CSV export) as a file named `filename`, with the session's token:
 * a plain link could not send it. Throws an `ApiProblem` when the server refuses.
 * @param {string} path @param {string} filename
 */
export async function download(path, filename) {
  const bearer = token();
  const response = await fetch(path, { headers: bearer ? { authorization: `Bearer ${bearer}` } : {} })
    .catch(() => { throw new ApiProblem(0, "network_error", ""); });
  if (!response.ok) throw new ApiProblem(response.status, "internal_error", "");
  saveBlob(await response.blob(), filename);
}

/** Offer `blob` to the user as a file named `filename` (the browser's download).
 * @param {Blob} blob @param {string} filename */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * A reason code in words, in the chosen language (an unknown code shows as the code).
 * @param {string} reason
 * @returns {string}
 */
export function reasonText(reason) {
  const key = `reasons.${reason}`;
  return has(key) ? t(key) : reason;
}

/** @param {unknown} error @returns {string} */
export function problemText(error) {
  if (error instanceof ApiProblem) return reasonText(error.reason);
  return t("reasons.internal_error");
}
