#ifndef EDDY_CROCKSDB_SHIM_H
#define EDDY_CROCKSDB_SHIM_H
#include <rocksdb/c.h>
#endif
