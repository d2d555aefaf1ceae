"""What goes into a bundle besides downloaded wheels: edgemed's own wheel, llama.cpp's source,
the compiled translations and the model catalog, and what their metadata require.
"""

from __future__ import annotations

import email.parser
import importlib.util
import re
import shutil
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 on Jetson's Ubuntu 22.04
    import tomli as tomllib

import edgemed
from edgemed.bundle.manifest import BundleError
from edgemed.bundle.pip import run_pip
from edgemed.i18n import _, locales_dir

LLAMA = "llama-cpp-python"
# What the edgemed wheel is built from; everything else in a checkout stays out of it.
_WHEEL_SOURCES = ("pyproject.toml", "README.md", "edgemed", "quantize")


def _name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else ""


def source_checkout() -> Path:
    """The edgemed checkout this edgemed runs from (the bundle ships a wheel built from it)."""
    root = Path(edgemed.__file__).resolve().parent.parent
    if not (root / "pyproject.toml").is_file():
        raise BundleError(
            _(
                "edgemed runs from {root}, not from a source checkout: no wheel can be built."
            ).format(root=root),
            hint=_("Build bundles from a clone of the edgemed repository (`make run` sets it up)."),
        )
    return root


def build_edgemed_wheel(dest: Path, wheelhouse: Path | None) -> Path:
    """Build edgemed's wheel from a clean copy of the checkout (never writing into the tree)."""
    root = source_checkout()
    with tempfile.TemporaryDirectory(prefix="edgemed-wheel-") as scratch:
        copy = Path(scratch) / "edgemed"
        copy.mkdir()
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
        for name in _WHEEL_SOURCES:
            source = root / name
            if source.is_dir():
                shutil.copytree(source, copy / name, ignore=ignore)
            elif source.is_file():
                shutil.copy2(source, copy / name)
        arguments = ["wheel", "--no-deps", "--quiet", "--wheel-dir", str(dest)]
        # With setuptools at hand the build needs no download; without it pip fetches it.
        if importlib.util.find_spec("setuptools") is not None:
            arguments.append("--no-build-isolation")
        elif wheelhouse is not None:
            arguments += ["--no-index", "--find-links", str(wheelhouse)]
        run_pip(
            sys.executable,
            [*arguments, str(copy)],
            what=_("Building edgemed's wheel"),
            sealed=False,
        )
    wheels = sorted(dest.glob(f"edgemed-{edgemed.__version__}-*.whl"))
    if not wheels:
        raise BundleError(_("pip built no edgemed wheel in {dest}.").format(dest=dest))
    return wheels[0]


def _runtime_requirements(lines: list[str]) -> list[str]:
    # Extras (dev, quantize, server, test) never reach a clinic device.
    return [line for line in lines if "extra ==" not in line.replace("'", '"')]


def wheel_requirements(wheel: Path) -> list[str]:
    """The runtime ``Requires-Dist`` lines of a wheel, markers kept for the device's pip."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = email.parser.Parser().parsestr(archive.read(name).decode("utf-8"))
    return _runtime_requirements(metadata.get_all("Requires-Dist") or [])


def split_llama(requirements: list[str]) -> tuple[list[str], str]:
    """(every requirement but llama-cpp-python, the llama-cpp-python requirement)."""
    rest = [r for r in requirements if _name(r) != LLAMA]
    llama = [r for r in requirements if _name(r) == LLAMA]
    if len(llama) != 1 or "==" not in llama[0]:
        raise BundleError(
            _("edgemed must pin one exact {name} version; it requires {found}.").format(
                name=LLAMA, found=llama or _("none")
            )
        )
    return rest, llama[0].split(";")[0].strip()


def download_llama_source(requirement: str, dest: Path, wheelhouse: Path | None) -> Path:
    """Fetch llama-cpp-python's source archive: it is compiled on the device for its CPU."""
    version = requirement.split("==")[1]
    name = f"llama_cpp_python-{version}.tar.gz"
    if wheelhouse is not None:
        # pip would prepare the archive's metadata, which needs build tools for *this* machine;
        # from a local mirror the archive is simply copied.
        if not (wheelhouse / name).is_file():
            raise BundleError(
                _("{name} is not in {wheelhouse}.").format(name=name, wheelhouse=wheelhouse),
                hint=_("Build once with the registry reachable, or add the file to the folder."),
            )
        shutil.copyfile(wheelhouse / name, dest / name)
        return dest / name
    # Only llama-cpp-python from source: its build tools may come as wheels for this machine.
    arguments = ["download", "--no-deps", "--no-binary", LLAMA, "--quiet", "--dest", str(dest)]
    run_pip(
        sys.executable,
        [*arguments, requirement],
        what=_("Downloading the source of {req}").format(req=requirement),
        sealed=False,
    )
    if not (dest / name).is_file():
        raise BundleError(_("pip delivered no source archive for {req}.").format(req=requirement))
    return dest / name


def source_requirements(archive: Path) -> tuple[list[str], list[str]]:
    """(runtime requirements, build requirements) read from a source archive's own metadata."""
    with tarfile.open(archive) as tar:
        top = tar.getnames()[0].split("/")[0]
        pkg_info = tar.extractfile(f"{top}/PKG-INFO")
        pyproject = tar.extractfile(f"{top}/pyproject.toml")
        if pkg_info is None or pyproject is None:
            raise BundleError(_("{file} lacks PKG-INFO or pyproject.toml.").format(file=archive))
        metadata = email.parser.Parser().parsestr(pkg_info.read().decode("utf-8"))
        build = tomllib.loads(pyproject.read().decode("utf-8")).get("build-system", {})
    runtime = _runtime_requirements(metadata.get_all("Requires-Dist") or [])
    # scikit-build-core asks for cmake and ninja only when the device lacks them: ship both so
    # a fresh Raspberry Pi OS Lite compiles with nothing but a C++ compiler installed.
    build_requires = [*build.get("requires", []), "cmake>=3.21", "ninja"]
    return runtime, [r.replace("[pyproject]", "") for r in build_requires]


def check_llama_wheel(wheel: Path, machine: str, python_tag: str) -> None:
    """Refuse a prebuilt llama-cpp-python wheel that cannot run on the target."""
    name = wheel.name
    if not name.startswith("llama_cpp_python-") or not name.endswith(".whl"):
        raise BundleError(
            _("{file} is not a llama-cpp-python wheel.").format(file=name),
            hint=_("Build one on the device with `pip wheel llama-cpp-python==VERSION`."),
        )
    tags = name[: -len(".whl")].split("-")[-3:]
    if not tags[2].endswith(machine) or not (tags[0].startswith("py3") or tags[0] == python_tag):
        raise BundleError(
            _("{file} is built for {tags}, not for {machine} with {python}.").format(
                file=name, tags="-".join(tags), machine=machine, python=python_tag
            )
        )


def compile_locales(dest: Path) -> list[Path]:
    """Compiled translation catalogs (``.mo``) for the bundle, built from the ``.po`` files."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written: list[Path] = []
    source = locales_dir()
    for po in sorted(source.glob("*/LC_MESSAGES/edgemed.po")) if source.is_dir() else []:
        target = dest / po.relative_to(source).with_suffix(".mo")
        target.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as stream:
            catalog = read_po(stream)
        with target.open("wb") as out:
            write_mo(out, catalog)
        written.append(target)
    return written
