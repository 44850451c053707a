// Reports and tracker export: what `webgpu-mlp report`, `webgpu-mlp export`, `train` and studies use.
//
//   writeRunReport(runDir, { gpu?, data?, device?, baseline?, out?, pngDir? })  one run's HTML + PNGs
//   writeComparisonReport(runDirs, { out, title?, description?, baseline? })   several runs on one page
//   exportToMlflow(runDir, { root?, experiment? })                             MLflow file store
//   lineChart / barChart / histogramChart / matrixChart → Vega spec; renderSvg, svgToPng; chartFigure
//
// Built on the package's public API only ('webgpu-mlp': ../index.ts, 'webgpu-mlp/node': ../node.ts),
// like any application: run directories are read with loadRunFiles, findBaseline and the rest from
// webgpu-mlp/node, which is where callers find them too.
export { evaluateSet, sampleActivations, type SampleActivations, type SetEvaluation } from './analysis.ts';
export {
  barChart,
  CHART_FONT,
  histogramChart,
  lineChart,
  matrixChart,
  MUTED,
  PALETTE,
  renderSvg,
  svgToPng,
  type BarChartOptions,
  type BarSeries,
  type ChartMarker,
  type ChartRule,
  type HistogramChartOptions,
  type LineChartOptions,
  type LineSeries,
  type MatrixChartOptions,
} from './charts.ts';
export {
  renderComparisonReport,
  writeComparisonReport,
  type ComparisonOptions,
  type ComparisonReport,
  type ComparisonRow,
  type ComparisonRun,
  type WriteComparisonOptions,
} from './comparison.ts';
export { chartFigure, figureSvg, pictureFigure, writeFigures, type ReportFigure } from './figures.ts';
export { exportToMlflow, type MlflowExport, type MlflowExportOptions } from './mlflow.ts';
export { renderRunReport, writeRunReport, type RunReport, type RunReportOptions, type WriteRunReportOptions, type WrittenReport } from './run-report.ts';
