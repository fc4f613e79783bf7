// @ts-check
/**
 * A sealed tender's bid, sealed in the browser before it leaves the page: byte for byte the
 * format of `bidserver/sealing/bid.py`, so that the officers open it with the same code whether a
 * terminal (`bidserver tender seal`) or this page sealed it.
 *
 * The plaintext is the bid's JSON document (the fields of `SealedBidContent`, with a fresh random
 * nonce) padded with spaces to a multiple of 1,024 bytes, so that its size tells nothing of the
 * prices; it is sealed with HPKE (RFC 9180, base mode) to the tender's public key, with the
 * tender's id in HPKE's `info`, so that it opens in no other tender. The page keeps the
 * plaintext; only the sealed bytes and their SHA-256 commitment are sent.
 */
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "../vendor/hpke.js";

/** The only suite this page seals with: the one `bidserver.sealing` names first. */
export const SUITE = "hpke-x25519-sha256-aes256gcm+ed25519";
export const BUCKET = 1024;
export const MAX_CONTENT = 64 * BUCKET;
const NONCE_SIZE = 16;
const INFO = "bidserver/sealed-bid/v1\0";

const hpke = new CipherSuite({
  kem: new DhkemX25519HkdfSha256(),
  kdf: new HkdfSha256(),
  aead: new Aes256Gcm(),
});

/**
 * @typedef {{ lot_id: string, amount: number }} LotPrice
 * @typedef {{ tender_id: string, supplier: string, currency: string, lots: LotPrice[],
 *   bid_security_ref?: string | null, delivery_days?: number, validity_days?: number,
 *   certificates?: string[], documents?: {name: string, digest: string}[] }} BidContent an
 *   RFQ's quote has delivery, validity and certificates; `documents` names sealed files uploaded
 * @typedef {{ sealed: Uint8Array, commitment: string }} SealedBid
 */

/** Standard base64 (RFC 4648, padded), as msgspec reads `bytes` from JSON. @param {Uint8Array} bytes */
export function toBase64(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** @param {string} text */
export function fromBase64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/**
 * The plaintext that is sealed: the content's JSON with a fresh nonce, then spaces up to the next
 * multiple of BUCKET bytes. Throws on a bid that is no bid (an amount that is not a whole number
 * of minor units) or too large to seal.
 * @param {BidContent} content @returns {Uint8Array}
 */
export function padded(content) {
  for (const lot of content.lots) {
    if (!Number.isSafeInteger(lot.amount) || lot.amount <= 0) {
      throw new RangeError(`lot ${lot.lot_id}: ${lot.amount} is not a positive whole number of minor units`);
    }
  }
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_SIZE));
  const data = new TextEncoder().encode(JSON.stringify({ ...content, nonce: toBase64(nonce) }));
  if (data.length > MAX_CONTENT) {
    throw new RangeError(`a bid of ${data.length} bytes is over the ${MAX_CONTENT}-byte limit`);
  }
  const plaintext = new Uint8Array(Math.ceil(data.length / BUCKET) * BUCKET).fill(0x20);
  plaintext.set(data);
  return plaintext;
}

const DOCUMENT_BUCKET = 64 * 1024;
const DOCUMENT_INFO = "bidserver/sealed-document/v1\0";

/**
 * A bid document (a technical proposal) sealed as `bidserver/sealing/documents.py` seals it: its
 * length (8 bytes, big-endian), the bytes, zeros up to a multiple of 64 KiB, HPKE with an `info`
 * that names the tender and says it is a document. The sealed bytes are uploaded; the bid names
 * them by their commitment, so the bid's own commitment covers its documents.
 * @param {string} suite @param {string} publicKey base64 @param {string} tenderId
 * @param {Uint8Array} document
 * @returns {Promise<SealedBid>}
 */
export async function sealDocument(suite, publicKey, tenderId, document) {
  if (suite !== SUITE) throw new Error(`this page cannot seal with the suite ${suite}`);
  const size = Math.ceil((document.length + 8) / DOCUMENT_BUCKET) * DOCUMENT_BUCKET;
  const plaintext = new Uint8Array(size);
  new DataView(plaintext.buffer).setBigUint64(0, BigInt(document.length));
  plaintext.set(document, 8);
  return seal(publicKey, DOCUMENT_INFO + tenderId, plaintext);
}

/** `sha256:<hex>` of the sealed bytes: what the receipt and the opening record name a bid by. */
export async function commitment(/** @type {Uint8Array} */ sealed) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", /** @type {BufferSource} */ (sealed)));
  return "sha256:" + Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Seal a bid to the tender's public key (32 raw bytes, base64 as the tender's view shows it).
 * @param {string} suite the tender's suite @param {string} publicKey base64
 * @param {BidContent} content
 * @returns {Promise<SealedBid>}
 */
export async function sealBid(suite, publicKey, content) {
  if (suite !== SUITE) throw new Error(`this page cannot seal with the suite ${suite}`);
  return seal(publicKey, INFO + content.tender_id, padded(content));
}

/** HPKE to the public key, with this `info`: `enc || ciphertext`, and its commitment.
 * @param {string} publicKey base64 @param {string} info @param {Uint8Array} plaintext
 * @returns {Promise<SealedBid>} */
async function seal(publicKey, info, plaintext) {
  const recipientPublicKey = await hpke.kem.importKey("raw", fromBase64(publicKey).buffer, true);
  const sender = await hpke.createSenderContext({
    recipientPublicKey, info: new TextEncoder().encode(info).buffer,
  });
  const ciphertext = new Uint8Array(await sender.seal(/** @type {ArrayBuffer} */ (plaintext.buffer)));
  const enc = new Uint8Array(sender.enc);
  const sealed = new Uint8Array(enc.length + ciphertext.length);
  sealed.set(enc);
  sealed.set(ciphertext, enc.length);
  return { sealed, commitment: await commitment(sealed) };
}
