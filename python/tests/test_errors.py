"""Bad input raises ValueError (TypeError for a wrong kind of object) with the library's
message; NaN or Inf inside a solve raises mapinverse.NumericalError; an exception raised
by Python code inside a solve comes out unchanged."""

import pytest
import torch

import mapinverse as mi
from gaussian import gaussian_denoiser, inpainting_problem, library_prior, mask


def problem():
    return inpainting_problem(mi.Inpainting(mask()))


def test_unknown_solver_name():
    with pytest.raises(ValueError, match=r"unknown solver 'map-gb'; expected one of map-ga"):
        mi.make_solver("map-gb", denoiser=library_prior())


def test_unknown_option_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"make_solver\('pgdm'\): unknown option 'etta'.*eta"):
        mi.make_solver("pgdm", denoiser=library_prior(), etta=0.5)


def test_invalid_option_value_names_the_field():
    with pytest.raises(ValueError, match=r"MapGa::Options::num_iter = -1"):
        mi.make_solver("map-ga-d", denoiser=library_prior(), iterations=-1)
    with pytest.raises(ValueError, match=r"update = 'euler'; expected one of ddim, renoise"):
        mi.make_solver("pgdm", denoiser=library_prior(), update="euler")
    with pytest.raises(ValueError, match=r"optimizer = 'sgd'"):
        mi.make_solver("map-ga-d", denoiser=library_prior(), optimizer="sgd")


def test_missing_model_is_named():
    with pytest.raises(ValueError, match=r"MapGa: consistency_source = kConsistencyModel needs"):
        mi.make_solver("map-ga", denoiser=library_prior())


def test_bad_mask_name():
    with pytest.raises(ValueError, match=r"expected one of box50\|half"):
        mi.paper_mask("box40")


def test_measurement_of_the_wrong_shape():
    bad = problem()
    bad.measurement = bad.measurement[:, :, :4]
    with pytest.raises(ValueError, match=r"Inpainting"):
        mi.solve("pgdm", bad, denoiser=library_prior(), steps=2)


def test_denoiser_returning_the_wrong_shape():
    wrong = mi.Denoiser(lambda x, sigma: x[:, :, :4])
    with pytest.raises(ValueError, match=r"Denoiser \(Python callable\): the Python callable "
                                         r"returned a tensor of shape \[2,1,4,8\], expected"):
        mi.solve("pgdm", problem(), denoiser=wrong, steps=2)


def test_denoiser_returning_no_tensor():
    with pytest.raises(TypeError, match=r"returned <class 'NoneType'>, expected a torch.Tensor"):
        mi.solve("pgdm", problem(), denoiser=lambda x, sigma: None, steps=2)


def test_not_a_callable():
    with pytest.raises(TypeError, match=r"expected a callable"):
        mi.Denoiser(3)


def test_python_exception_comes_out_unchanged():
    def failing(x, sigma):
        raise KeyError("from the denoiser")

    with pytest.raises(KeyError, match="from the denoiser"):
        mi.solve("map-ga-d", problem(), denoiser=failing, time_steps=2, iterations=2)


def test_nan_raises_numerical_error():
    def nan_denoiser(x, sigma):
        return gaussian_denoiser(x, sigma) * float("nan")

    with pytest.raises(mi.NumericalError, match=r"PGDM") as error:
        mi.solve("pgdm", problem(), denoiser=nan_denoiser, steps=2)
    assert isinstance(error.value, ArithmeticError)


def test_callback_returning_something_else():
    with pytest.raises(TypeError, match=r"a callback returned <class 'int'>"):
        mi.solve("pgdm", problem(), denoiser=library_prior(), steps=2, callbacks=[lambda s: 5])


def test_missing_torchscript_file(tmp_path):
    with pytest.raises(ValueError, match=r"nothing\.pt"):
        mi.load_torchscript_denoiser(str(tmp_path / "nothing.pt"))


def test_missing_shipped_models(monkeypatch, tmp_path):
    monkeypatch.setenv("MAPINVERSE_MODELS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"fmnist_edm_denoiser.pt not found"):
        mi.load_shipped_denoiser()


def test_bad_device():
    with pytest.raises(RuntimeError):
        mi.load_shipped_denoiser(device="nonsense")


def test_integer_measurement():
    bad = problem()
    bad.measurement = torch.zeros(2, 1, 8, 8, dtype=torch.int64)
    with pytest.raises(ValueError):
        mi.solve("pgdm", bad, denoiser=library_prior(), steps=2)
