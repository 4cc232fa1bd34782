#pragma once
/// Braid: collective communication over shared memory and TCP (and more to come).
#include <braid/communicator.h>
#include <braid/error.h>
#include <braid/types.h>
#include <braid/unique_id.h>
#include <braid/version.h>
