#pragma once
/** @file gaussmix.hpp
 *  The whole gaussmix core: include this one header.
 */
#include "errors.hpp"
#include "gaussian.hpp"
#include "mixture.hpp"
#include "em.hpp"
#include "kmeans.hpp"
#include "condition.hpp"
#include "divergence.hpp"
