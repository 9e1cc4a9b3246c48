"""
Placeholders for the heavy libraries that crfm-helm's modules import at module level but that suite
generation and metric checks never call (torch, transformers, datasets, ...). Importing one gives a module
whose every attribute is a placeholder that raises when used, so a call that would really need the library
fails loudly instead of silently computing something else. Install with `install()` before importing helm.
"""
import importlib.abc
import importlib.machinery
import sys
import types

# Top-level packages that HELM 0.2.4 imports at module level on the paths we use, none of them needed to
# read scenarios, sample instances, adapt prompts, perturb or score with exact-match metrics.
ABSENT = (
    "torch", "torchvision", "transformers", "datasets", "pandas", "pyarrow", "tokenizers", "huggingface_hub",
    "sentencepiece", "tiktoken", "openai", "anthropic", "google", "googleapiclient", "spacy", "sklearn",
    "calibration", "sqlitedict", "pymongo", "bson", "zstandard", "gdown", "sympy", "icetk",
    "aleph_alpha_client", "websocket", "scaleapi", "surge", "cohere", "bottle", "gunicorn", "boto3", "botocore",
    "requests", "urllib3", "pyhocon", "mako", "uncertainty_calibration", "rouge_score", "absl",
    "nltk", "pyext", "scipy", "httplib2", "sacrebleu", "numba", "pytrec_eval", "summ_eval", "matplotlib", "seaborn", "colorcet",
)


# Calls that HELM makes at import time and whose result it does not use on our paths: they return None.
# basic_metrics checks for nltk's punkt tokenizer (used only by ROUGE/BLEU, which no shipped suite scores).
CALLED_AT_IMPORT = ("nltk.data.find",)


class AbsentLibraryError(RuntimeError):
    pass


def _placeholder(qualified: str):
    def fail(*_args, **_kwargs):
        if qualified in CALLED_AT_IMPORT:
            return None
        raise AbsentLibraryError(f"{qualified} is not installed in the HELM generator's environment (scripts/ensure-helm.sh) and was called")

    class AbsentMeta(type):
        def __getattr__(cls, name):
            if name.startswith("__") and name.endswith("__"):
                raise AttributeError(name)
            return _placeholder(f"{qualified}.{name}")

    class Placeholder(metaclass=AbsentMeta):

        def __new__(cls, *args, **kwargs):
            return fail()

        def __class_getitem__(cls, _item):
            return cls

        def __init_subclass__(cls, **kwargs):
            pass

    Placeholder.__name__ = qualified.rsplit(".", 1)[-1]
    Placeholder.fail = staticmethod(fail)
    return Placeholder


class _AbsentModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        value = _placeholder(f"{self.__name__}.{name}")
        setattr(self, name, value)
        return value


class _AbsentFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, names):
        self.names = tuple(names)

    def _absent(self, fullname):
        return any(fullname == n or fullname.startswith(n + ".") for n in self.names)

    def find_spec(self, fullname, path, target=None):
        if not self._absent(fullname):
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec):
        module = _AbsentModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        pass


def install(keep=()):
    """Put the placeholders first on the import path for every ABSENT library not in `keep`."""
    names = [n for n in ABSENT if n not in keep]
    sys.meta_path.insert(0, _AbsentFinder(names))
