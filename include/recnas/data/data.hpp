#pragma once
// recnas/data: readers, preprocessing, split, cache, batch streams and the synthetic dataset.
// Opt-in (not in recnas/recnas.hpp). recnas/data/spec.hpp additionally needs nlohmann/json.

#include "recnas/data/block.hpp"
#include "recnas/data/cache.hpp"
#include "recnas/data/dataset.hpp"
#include "recnas/data/mapped_file.hpp"
#include "recnas/data/preprocess.hpp"
#include "recnas/data/schema.hpp"
#include "recnas/data/split.hpp"
#include "recnas/data/stats.hpp"
#include "recnas/data/stream.hpp"
#include "recnas/data/synthetic.hpp"
#include "recnas/data/text.hpp"
