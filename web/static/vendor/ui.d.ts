// The types of ui.js (written by hand, kept by vendor.mjs): exactly the values ui.js exports, typed
// by preact's own declarations, and every preact type (VNode, ComponentChildren...) for JSDoc.
import type { VNode } from "preact";

export type * from "preact";
export type { Dispatch, StateUpdater, Reducer } from "preact/hooks";
export { h, render, Fragment, createContext } from "preact";
export {
  useState, useEffect, useLayoutEffect, useRef, useMemo, useCallback, useContext, useReducer, useId,
} from "preact/hooks";
/** htm bound to h: a tagged template that builds preact vnodes (htm/preact's own typing). */
export declare const html: (strings: TemplateStringsArray, ...values: any[]) => VNode;
