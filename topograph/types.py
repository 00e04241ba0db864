"""Shared type aliases and option literals."""

from typing import Literal

import numpy as np
import numpy.typing as npt

#: How NNSTD solves each layer's assignment. ``reference`` is the dense
#: Hungarian-style solve of the published code, ``sparse`` the maximum-weight
#: matching on the sparse overlap graph (scipy's LAPJVsp), ``large`` an auction
#: on the overlap graph with a certificate of optimality (for 16k-64k neurons),
#: ``auto`` picks by layer width.
Method = Literal["reference", "sparse", "large", "auto"]
ResolvedMethod = Literal["reference", "sparse", "large"]

#: Permutation of output neurons: ``matching[j]`` is the neuron of network b
#: matched to neuron ``j`` of network a (both in their files' own labels).
Matching = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
