// The one header an application includes: StreamingContext, DStream and everything they use.
// No CAF, LMDB, Cap'n Proto or NATS types reach the user through it.
#pragma once

#include "actors/run.hpp"
#include "dataflow/config_error.hpp"
#include "dataflow/record_text.hpp"
#include "dataflow/record_traits.hpp"
#include "dataflow/streaming_context.hpp"
#include "dataflow/text_output.hpp"
#include "net/jetstream_stream.hpp"
#include "persistence/postgres_sink.hpp"
#include "persistence/sqlite_sink.hpp"
#include "rill/version.hpp"

namespace rill {

/// Sets the log level by name (debug, info, warn, error, off); false for an unknown name. It
/// then wins over the RILL_LOG environment variable.
bool set_log_level(const std::string& name);

}  // namespace rill
