// The status page the endpoint serves at /: one HTML document with its CSS and JavaScript
// inline (no CDN), drawing from /api/* on <canvas>. Immutable, share freely.
#pragma once

#include <string_view>

namespace rill::net {

/// The page. Its script fetches /api/batches, /api/receivers and /api/supervision every
/// `?refresh=MS` (default 2000) and, after each render, writes what it drew into the DOM:
/// `data-points` on every chart and `data-renders` on <body> (headless browser tests read them).
std::string_view status_page_html();

}  // namespace rill::net
