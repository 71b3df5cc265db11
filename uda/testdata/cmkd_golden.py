#!/usr/bin/env python3
"""Golden values for the CMKD + FixMatch loss of package uda.

Written from shared/method/paper-spec.md §1.2, §1.4-§1.6 (not from the Go code),
with PyTorch in float64 on inputs that are exactly representable in float32.
It writes cmkd_golden.json next to itself: the inputs, then for each variant
("code": the authors' code, spec §1.5; "paper": the printed equations, §1.4)
every loss term, the total, alpha, the FixMatch mask rates and the gradient of
the total with respect to each logits tensor; "total_cmkd" and "grads_cmkd" are
the same without the two FixMatch terms.

Run: /usr/bin/python3 uda/testdata/cmkd_golden.py   (Debian python3-torch)
"""

import json
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20240802)

BS, BT, C, D = 4, 6, 5, 64         # source batch, target batch, classes, embedding width
STEP = 3000                        # iterations completed before this one
LAMBDA1, LAMBDA2, LAMBDA3 = 0.25, 0.1, 0.025
SMOOTHING = 0.1
FM_WEIGHT, FM_THRESHOLD = 0.5, 0.95
SCALE = 100.0                      # exp(logit_scale) of the OpenAI checkpoints
RAMP_GAMMA, RAMP_MAX_ITER = 1.0, 10000


def f32(x):
    """Round to float32 and return float64, so Go sees the same inputs."""
    return x.float().double()


# Teacher (zero-shot) head inputs. As with a real CLIP, the class text
# embeddings are close to each other (cosines about 0.7) and an image feature
# is a shared direction u plus a little of its class's text plus noise, so
# that 100*cos gives logits a few units apart and confidences that vary.
u = F.normalize(torch.randn(D, dtype=torch.float64), dim=0)
text = F.normalize(u + 0.6 * torch.randn(C, D, dtype=torch.float64) / D**0.5, dim=1).float()  # (C, D) float32
text64 = text.double()


def features(align):
    n = len(align)
    cls = torch.randint(0, C, (n,))
    a = torch.tensor(align, dtype=torch.float64)[:, None]
    return f32(u + a * text64[cls] + 0.3 * torch.randn(n, D, dtype=torch.float64) / D**0.5)


feat_s = features([0.2, 0.1, 0.3, 0.05])
feat_t = features([0.4, 0.1, 0.3, 0.05, 0.25, 0.2])
feat_ts = f32(feat_t + 0.2 * torch.randn(BT, D, dtype=torch.float64) / D**0.5)


def teacher_logits(feat):
    """Spec §1.2: z_g = exp(s) * <f/|f|, t_k>, t_k already unit length."""
    return SCALE * (feat / feat.norm(dim=1, keepdim=True)) @ text64.t()


labels = torch.randint(0, C, (BS,))
z_s = f32(2.0 * torch.randn(BS, C, dtype=torch.float64))
row_scale = torch.tensor([[12.0], [0.5], [8.0], [1.0], [10.0], [2.0]], dtype=torch.float64)
z_t = f32(row_scale * torch.randn(BT, C, dtype=torch.float64))
z_ts = f32(z_t + torch.randn(BT, C, dtype=torch.float64))
z_gs = f32(teacher_logits(feat_s))
z_gt = f32(teacher_logits(feat_t))
z_gts = f32(teacher_logits(feat_ts))


def lambda_dyn(t):
    """Spec §1.5: 2/(1+exp(-gamma*mu)) - 1, mu = min(t, max_iter)/max_iter."""
    mu = min(t, RAMP_MAX_ITER) / RAMP_MAX_ITER
    return 2.0 / (1.0 + math.exp(-RAMP_GAMMA * mu)) - 1.0


def kl(p, q):
    """KL(p||q) per row: sum_c p_c (log p_c - log q_c)."""
    return (p * (p.log() - q.log())).sum(dim=1)


def gini_calibrated(p, w):
    """Spec §1.5: sum_i w_i (1 - sum_c p[i,c]^2 / S_c), S_c = sg(sum_j p[j,c])."""
    s = p.sum(dim=0, keepdim=True).detach()
    return (w * (1.0 - (p * p / s).sum(dim=1))).sum()


def gini_plain(p, w):
    """Spec §1.4, Eq. 4, per sample; weighted and averaged over the batch."""
    return (w * (1.0 - (p * p).sum(dim=1))).mean()


def fixmatch(weak, strong, strict):
    """Spec §1.6: lambda_fm * mean over ALL samples of 1[conf >= tau] * CE(strong, argmax weak)."""
    q = torch.softmax(weak.detach(), dim=1)
    conf, yhat = q.max(dim=1)
    # PyTorch compares a float32 tensor with the float32 of the threshold.
    conf32, tau32 = conf.float(), torch.tensor(FM_THRESHOLD, dtype=torch.float32)
    mask = (conf32 > tau32) if strict else (conf32 >= tau32)
    ce = -torch.log_softmax(strong, dim=1).gather(1, yhat[:, None])[:, 0]
    return FM_WEIGHT * (mask.double() * ce).mean(), mask.double().mean().item()


def loss_terms(variant):
    leaves = {k: v.clone().requires_grad_(True) for k, v in
              dict(z_s=z_s, z_t=z_t, z_gs=z_gs, z_gt=z_gt, z_ts=z_ts, z_gts=z_gts).items()}
    zs, zt, zgs, zgt, zts, zgts = (leaves[k] for k in ("z_s", "z_t", "z_gs", "z_gt", "z_ts", "z_gts"))

    lam = lambda_dyn(STEP)
    p_h = torch.softmax(zt, dim=1)
    p_g = torch.softmax(zgt, dim=1)
    if variant == "code":
        alpha = torch.exp(-kl(p_g, p_h)).detach()
        # Cross-check with the authors' formulation, F.kl_div(p_h.log(), p_g).
        ref = torch.exp(-F.kl_div(p_h.log(), p_g, reduction="none").sum(-1))
        assert torch.allclose(alpha, ref, atol=1e-12)
        gini = gini_calibrated
    else:
        alpha = torch.exp(-kl(p_h, p_g)).detach()
        gini = gini_plain
    p_m = 0.5 * (p_h + p_g.detach())

    # Label-smoothed CE written out: (1-eps)*(-log p_y) + eps*mean_c(-log p_c).
    lp_s = torch.log_softmax(zs, dim=1)
    cls = ((1 - SMOOTHING) * -lp_s.gather(1, labels[:, None])[:, 0] + SMOOTHING * -lp_s.mean(dim=1)).mean()
    assert torch.allclose(cls, F.cross_entropy(zs, labels, label_smoothing=SMOOTHING), atol=1e-12)

    terms = {
        "cls": cls,
        "task": LAMBDA1 * lam * gini(p_h, alpha),
        "distill": LAMBDA1 * lam * gini(p_m, 1.0 - alpha),
        "reg_ce": LAMBDA2 * F.cross_entropy(zgs, labels),
        "reg_gi": LAMBDA3 * lam * gini(p_g, torch.ones(BT, dtype=torch.float64)),
    }
    strict = variant == "paper"
    terms["fm_head"], rate_h = fixmatch(zt, zts, strict)
    terms["fm_teacher"], rate_g = fixmatch(zgt, zgts, strict)
    total = sum(terms.values())
    terms["total"] = total
    # CMKD alone (no FixMatch) for the cmkd method's total.
    terms_cmkd = terms["cls"] + terms["task"] + terms["distill"] + terms["reg_ce"] + terms["reg_gi"]
    cmkd_leaves = ("z_s", "z_t", "z_gs", "z_gt")
    grads_cmkd = torch.autograd.grad(terms_cmkd, [leaves[k] for k in cmkd_leaves], retain_graph=True)
    total.backward()
    assert 0 < rate_h < 1 and 0 < rate_g < 1, (rate_h, rate_g)
    return {
        "lambda": lam,
        "alpha": alpha.tolist(),
        "mask_rate_head": rate_h,
        "mask_rate_teacher": rate_g,
        "terms": {k: v.item() for k, v in terms.items()},
        "total_cmkd": terms_cmkd.item(),
        "grads_cmkd": {k: g.tolist() for k, g in zip(cmkd_leaves, grads_cmkd)},
        "grads": {k: v.grad.tolist() for k, v in leaves.items()},
    }


out = {
    "about": "CMKD + FixMatch golden values; see cmkd_golden.py",
    "config": dict(step=STEP, lambda1=LAMBDA1, lambda2=LAMBDA2, lambda3=LAMBDA3,
                   label_smoothing=SMOOTHING, fixmatch_weight=FM_WEIGHT,
                   fixmatch_threshold=FM_THRESHOLD, scale=SCALE),
    "inputs": {
        "labels": labels.tolist(),
        "text": text64.tolist(),
        "features_s": feat_s.tolist(), "features_t": feat_t.tolist(), "features_ts": feat_ts.tolist(),
        "z_s": z_s.tolist(), "z_t": z_t.tolist(), "z_gs": z_gs.tolist(),
        "z_gt": z_gt.tolist(), "z_ts": z_ts.tolist(), "z_gts": z_gts.tolist(),
    },
    "variants": {v: loss_terms(v) for v in ("code", "paper")},
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cmkd_golden.json")
with open(path, "w") as fh:
    json.dump(out, fh, indent=1)
    fh.write("\n")
for v, r in out["variants"].items():
    print(v, {k: round(x, 6) for k, x in r["terms"].items()}, "masks", r["mask_rate_head"], r["mask_rate_teacher"])
