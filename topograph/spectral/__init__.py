"""Spectral properties of layer and network topologies (Bourely et al. 2017)."""

from topograph.spectral.properties import (
    SpectralProperties,
    layer_spectrum,
    network_spectrum,
)

__all__ = ["SpectralProperties", "layer_spectrum", "network_spectrum"]
