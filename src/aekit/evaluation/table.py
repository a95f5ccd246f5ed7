"""The table `aekit evaluate` prints: one block per section of the record,
the model beside its baselines (PCA of the code's size, raw pixels) where
they exist."""

from __future__ import annotations

RECON_ROWS = (("sse", "squared error / image"), ("bce", "BCE / image (nats)"),
              ("mse_per_pixel", "MSE / pixel"), ("bce_per_pixel", "BCE / pixel (nats)"), ("psnr_db", "PSNR (dB)"))
LABEL = 28
Block = tuple[list[str], list[list]]   # (header, rows): a row is [label, value, ...]


def format_number(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e-3 or abs(value) >= 1e5 else f"{value:.4f}"
    return str(value)


def _rows(header: list[str], rows: list[list]) -> list[str]:
    width = max(12, *(len(format_number(v)) + 2 for r in rows for v in r[1:]), *(len(h) + 2 for h in header[1:]))
    lines = [(f"{header[0]:<{LABEL}}" + "".join(f"{h:>{width}}" for h in header[1:])).rstrip()]
    lines += [f"  {r[0]:<{LABEL - 2}}" + "".join(f"{format_number(v):>{width}}" for v in r[1:]) for r in rows]
    return lines


def _heading(meta: dict) -> str:
    what = meta.get("model", {}).get("preset") or meta["model"]["bottleneck"] + " autoencoder"
    epoch = f", epoch {meta['epoch']}" if "epoch" in meta else ""
    return (f"{what} (weights: {meta['weights']}{epoch}) on {meta['dataset']} {meta['split']}: "
            f"{meta['images']} images, seed {meta['seed']}")


def _reconstruction(rec: dict) -> Block:
    if "pca" not in rec:
        return ["reconstruction", "model"], [[label, rec["model"][key]] for key, label in RECON_ROWS]
    rows = []
    for key, label in RECON_ROWS:
        relative = rec["ratio"].get(key, "") if key != "psnr_db" else f"{rec['psnr_gain_db']:+.2f} dB"
        rows.append([label, rec["model"][key], rec["pca"][key], relative])
    return ["reconstruction", "model", f"PCA-{rec['pca']['components']}", "model/PCA"], rows


def _vae(v: dict, unit: str) -> Block:
    rows = [[f"ELBO ({unit})", v["elbo"]], ["reconstruction part", v["recon"]], ["KL part (nats)", v["kl"]],
            ["active units", f"{v['active_units']} of {v['latent_dim']}"]]
    if "nll" in v:
        rows.append([f"NLL (nats, k = {v['nll_samples']})", v["nll"]])
    return ["vae", "model"], rows


def _denoising(d: dict) -> Block:
    rows = [["own corruption", d["own"]["psnr_input_db"], d["own"]["psnr_output_db"]]]
    rows += [[f"gaussian sigma {g['sigma']}", g["psnr_input_db"], g["psnr_output_db"]] for g in d["gaussian"]]
    return ["denoising (PSNR, dB)", "input", "output"], rows


def _code_quality(q: dict) -> Block:
    names = [n for n in ("model", "pca", "pixels") if isinstance(q.get(n), dict)]
    header = {"model": "model", "pca": f"PCA-{q.get('code_dim', '')}", "pixels": "pixels"}
    rows = [[f"kNN accuracy (k = {q.get('k', '?')})", *(q[n]["knn_accuracy"] for n in names)],
            ["linear probe accuracy", *(q[n]["linear_probe_accuracy"] for n in names)]]
    return ["code quality", *(header[n] for n in names)], rows


def _anomaly(a: dict) -> Block:
    rows = [["anomalous images", a["anomalous_images"]], ["normal images", a["normal_images"]],
            ["ROC-AUC, reconstruction error", a["reconstruction"]["roc_auc"]]]
    if "nll" in a:
        rows.append([f"ROC-AUC, NLL (k = {a['nll']['samples']})", a["nll"]["roc_auc"]])
    return [f"anomaly ({a['anomalous']} anomalous)", ""], rows


def _flat(title: str, section: dict) -> Block:
    """Any other section: its numbers, one per line, by their dotted keys."""
    rows = []

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else key, sub)
        elif isinstance(value, (int, float)):
            rows.append([prefix, value])

    walk("", section)
    return [title, ""], rows


def table_blocks(record: dict) -> list[Block]:
    """The record's sections as (header, rows): the first cell of a row is its
    label, the others raw values (`format_number` writes them)."""
    blocks = [_reconstruction(record["reconstruction"])]
    if "vae" in record:
        blocks.append(_vae(record["vae"], record["meta"]["model"]["likelihood_unit"]))
    if "denoising" in record:
        blocks.append(_denoising(record["denoising"]))
    if "code_quality" in record:
        blocks.append(_code_quality(record["code_quality"]))
    if "anomaly" in record:
        blocks.append(_anomaly(record["anomaly"]))
    return blocks


def heading(record: dict) -> str:
    return _heading(record["meta"])


def format_table(record: dict) -> str:
    blocks = [[heading(record)], *(_rows(header, rows) for header, rows in table_blocks(record))]
    return "\n\n".join("\n".join(b) for b in blocks) + "\n"
