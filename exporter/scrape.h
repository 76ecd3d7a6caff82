#pragma once

// Superseded by exporter/exporter.h (Exporter), exporter/topology.h (Topology) and
// exporter/pool.h (ConnectionPool); kept while exporter/main.cpp includes it.
#include "exporter/exporter.h"
