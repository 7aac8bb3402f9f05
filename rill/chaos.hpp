// rill::chaos: fault injection for users' chaos tests (Monkey, MonkeyOptions, Target).
// Include beside <rill/rill.hpp> in tests; production code has no need of it.
#pragma once

#include "dataflow/chaos_monkey.hpp"
