// The types of hpke.js (written by hand, kept by vendor.mjs): @hpke/core's own declarations for
// the HPKE suite a sealed tender names (DHKEM X25519, HKDF-SHA256, AES-256-GCM).
export { CipherSuite, DhkemX25519HkdfSha256, HkdfSha256, Aes256Gcm } from "@hpke/core";
