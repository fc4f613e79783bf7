// The types of uplot.js (written by hand, kept by vendor.mjs): the uPlot class, default export,
// with its namespace of option types (uPlot.Options, uPlot.Series...), from uPlot's declarations.
export { default } from "uplot";
