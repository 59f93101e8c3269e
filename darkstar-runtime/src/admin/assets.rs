//! The dashboard: a page built from `web/dashboard` (TypeScript and uPlot, bundled) and
//! committed here, so that the server serves it without Node.js. A test rebuilds it and
//! checks these files are what the sources make.

/// The page.
pub(crate) const INDEX_HTML: &str = include_str!("assets/index.html");
/// The page's script: the dashboard and its charting library.
pub(crate) const DASHBOARD_JS: &str = include_str!("assets/dashboard.js");
/// The page's styles.
pub(crate) const DASHBOARD_CSS: &str = include_str!("assets/dashboard.css");
