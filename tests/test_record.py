"""Recording during training: session.record(), idempotent, validated before it is queued."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import topograph
from topograph import InputError
from topograph.loaders import checkpoint_from_state_dict
from topograph.stores import GraphStore

from conftest import REPO, random_checkpoint

torch = pytest.importorskip("torch", reason="record() of torch modules needs the [torch] extra")

FIXTURES = REPO / "tests" / "data" / "checkpoints"


def _mlp() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(12, 9), torch.nn.ReLU(), torch.nn.Linear(9, 7), torch.nn.ReLU(),
        torch.nn.Linear(7, 3),
    )  # fmt: skip


def test_record_a_pruned_module_each_epoch(store: GraphStore, store_uri: str) -> None:
    from torch.nn.utils import prune

    store.close()
    model = _mlp()
    linears = [(m, "weight") for m in model if isinstance(m, torch.nn.Linear)]
    expected = {}
    with topograph.connect(store_uri) as tg:
        for epoch in range(3):
            if epoch:
                prune.global_unstructured(linears, prune.L1Unstructured, amount=0.3)
            assert tg.record(model, run="m", epoch=epoch, metrics={"acc": 0.5 + epoch / 10})
            state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            expected[epoch] = checkpoint_from_state_dict(state, run="m", epoch=epoch)
        # the same content again: nothing to do
        assert not tg.record(model, run="m", epoch=2, metrics={"acc": 0.7})
        tg.flush()
        status = tg.status()
        assert status.runs == {"m": [0, 1, 2]}
        for epoch, want in expected.items():
            got = tg._reader().load_checkpoint("m", epoch)
            assert got.content_hash == want.content_hash
            assert got.accuracy == pytest.approx(0.5 + epoch / 10)
        # epoch 2 pruned 51 % of the weights away: the topology came from the mask
        assert got.nnz < 0.5 * sum(12 * 9 + 9 * 7 + 7 * 3 for _ in [0])
        with torch.no_grad():
            model[0].weight_orig.add_(1.0)
        with pytest.raises(InputError, match="m@2 is already recorded with different content"):
            tg.record(model, run="m", epoch=2)


def test_record_equals_loading_the_saved_file(tmp_path: Path) -> None:
    pt = FIXTURES / "prune-mlp" / "pt" / "run-0" / "checkpoint_epoch3.pt"
    saved = torch.load(pt, weights_only=True)
    from_file = topograph.load(pt)
    with topograph.connect(str(tmp_path / "r.lbdb")) as tg:
        tg.record(saved["model_state_dict"], run="p", epoch=3)
        got = tg._reader().load_checkpoint("p", 3)
    assert got.content_hash == from_file.content_hash


def test_ao_masks_come_from_the_modules(tmp_path: Path) -> None:
    from torch.ao.pruning import WeightNormSparsifier

    model = _mlp()
    sparsifier = WeightNormSparsifier(
        sparsity_level=0.6, sparse_block_shape=(1, 1), zeros_per_block=1
    )
    config = [{"tensor_fqn": f"{i}.weight"} for i in (0, 2, 4)]
    sparsifier.prepare(model, config)
    sparsifier.step()
    # the state dict keeps the dense originals; only the parametrization knows the mask
    assert "0.parametrizations.weight.original" in model.state_dict()
    with topograph.connect(str(tmp_path / "ao.lbdb")) as tg:
        tg.record(model, run="ao", epoch=0)
        got = tg._reader().load_checkpoint("ao", 0)
    mask = model[0].parametrizations.weight[0].mask
    assert got.layers[0].nnz == int(mask.sum()) < 12 * 9


def test_bad_input_raises_at_once_and_stores_nothing(tmp_path: Path) -> None:
    model = _mlp()
    with torch.no_grad():
        model[2].weight[0, 0] = float("nan")
    db = str(tmp_path / "bad.lbdb")
    with topograph.connect(db) as tg:
        with pytest.raises(InputError, match="NaN"):
            tg.record(model, run="bad", epoch=0)
        with pytest.raises(InputError, match="takes a torch module, a state dict"):
            tg.record(42, run="bad", epoch=1)
    assert not Path(db).exists()  # refused before the store was even opened


def test_record_checkpoint_objects(tmp_path: Path) -> None:
    ck = random_checkpoint(np.random.default_rng(1), (10, 8, 4), 0.4, run="x", epoch=9)
    with topograph.connect(str(tmp_path / "c.lbdb")) as tg:
        assert tg.record(ck, run="y", epoch=5, metrics={"accuracy": 0.25})
        got = tg._reader().load_checkpoint("y", 5)
    assert got.content_hash == ck.content_hash and got.accuracy == 0.25
