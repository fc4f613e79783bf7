// The types of i18next.js (written by hand, kept by vendor.mjs): its one value, the default
// instance, typed by i18next's own declarations, and i18next's types (TFunction...) for JSDoc.
export type * from "i18next";
export { default } from "i18next";
