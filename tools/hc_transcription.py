"""Work in progress for issue 27's hc start, not part of the package: a NumPy
transcription of mclust 6's model-based hierarchical agglomeration (hcVVV,
src/mclust.f's hcvvv), kept to study where mclust's merges come from (bench/NOTES.md
section 33). It reproduces R's hclass partitions at G = 1..9 on faithful,
iris and banknote (use = "VARS"); on diabetes it departs at merge 96.

    python tools/hc_transcription.py REFERENCE.json

REFERENCE.json: {name: {"x": rows, "classes": [[hclass(h, G) for G in 1..9] per row]}} from R,
e.g. with h <- hc(x, modelName = "VVV", use = "VARS").

What it models besides the criterion (vvvtij): the costs in mclust's packed
order with the last minimum winning; the last slot moved into the merged-away
one (wardsw); the stored factor of a merged group, whose rows all copy the
true factor's first row (hcvvv copies r(1,1) for every row); and the term of
a group merged by the global scan, which is the stored cost plus the two
terms.
"""
import json
import math
import sys

import numpy as np

def seqdot(v):
    t = v[..., 0] * v[..., 0]
    for k in range(1, v.shape[-1]):
        t = t + v[..., k] * v[..., k]
    return t

def vvvtij(l, p, W, trac, alpha, beta):
    l = np.asarray(l, float); trac = np.asarray(trac, float); out = np.empty(len(l))
    for idx in range(len(l)):
        li, ti = l[idx], trac[idx]
        if li <= p:
            out[idx] = math.log(beta * (ti + alpha) / li)
        elif ti == 0:
            out[idx] = math.log(alpha * beta / li)
        else:
            sign, logdet = np.linalg.slogdet(W[idx] / li)
            if sign <= 0:
                out[idx] = math.log(beta * (ti + alpha) / li)
            elif logdet <= 0:
                out[idx] = math.log(math.exp(logdet) + beta * (ti + alpha) / li)
            else:
                out[idx] = math.log(1 + math.exp(-logdet) * (beta * (ti + alpha) / li)) + logdet
    return l * out

def stored_form(W, l, p):
    """mclust's stored factor of a merged group: its rows k = 1..min(l-1, p) all copy the true factor's first
    row (hcvvv's dcopy of r(1,1)), read back from column k on: W_s = sum_k s_k s_k^T, s_k = [0.., R[0, k-1:]]."""
    rows = min(int(l) - 1, p)
    if rows <= 0 or W[0, 0] <= 0:
        return np.zeros_like(W)
    r1 = W[0] / math.sqrt(W[0, 0])
    out = np.zeros_like(W)
    for k in range(rows):
        s = np.zeros(p); s[k:] = r1[k:]
        out += np.outer(s, s)
    return out

def hcvvv(x, beta=1.0):
    x = np.asarray(x, float); n, p = x.shape
    dev = x / math.sqrt(n * p); dev = dev - dev.mean(axis=0)
    alpha = max(float((dev ** 2).sum()), np.finfo(float).eps)
    ablog = math.log(beta * alpha)
    sx = x.copy(); cnt = np.ones(n); trac = np.zeros(n); term = np.full(n, ablog)
    Ws = np.zeros((n, p, p))          # stored (as mclust keeps them)
    members = [[i] for i in range(n)]
    C = np.full((n, n), np.inf)
    fresh = None                       # (slot, exact W) of the group made by the last merge
    def own(i):
        return fresh[1] if fresh is not None and fresh[0] == i else Ws[i]
    def pair(i, js):
        ni, nj = cnt[i], cnt[js]; nij = ni + nj
        si = np.sqrt(ni / nij); sj = np.sqrt(nj / nij)
        v = sj[:, None] * sx[i] - si[:, None] * sx[js]
        t = (trac[i] + trac[js]) + seqdot(v)
        Wij = own(i) + np.stack([own(j) for j in js]) + v[:, :, None] * v[:, None, :]
        tm = vvvtij(nij, p, Wij, t, alpha, beta)
        return tm - (term[i] + term[js]), t, tm, Wij
    for j in range(1, n):
        i = np.arange(j)
        v = (x[i] - x[j]) * 0.7071067811865476
        t = seqdot(v)
        C[i, j] = 2.0 * np.log(beta * (t + alpha) / 2.0) - (ablog + ablog)
    lg = n; merges = []; costs = []
    while lg > 1:
        iu = np.triu_indices(lg, 1)
        vals = C[:lg, :lg][iu]
        m = vals.min()
        cand = np.flatnonzero(vals == m)
        ii, jj = iu[0][cand], iu[1][cand]
        k = np.lexsort((ii, jj))[-1]
        io, jo = int(ii[k]), int(jj[k])
        merges.append((members[io][:], members[jo][:])); costs.append(m)
        _, t, tm, Wij = pair(io, np.array([jo]))
        ni, nj = cnt[io], cnt[jo]; nij = ni + nj
        sx[io] = math.sqrt(ni / nij) * sx[io] + math.sqrt(nj / nij) * sx[jo]
        involves_fresh = fresh is not None and fresh[0] in (io, jo)
        # mclust's term of the new group: the trm it saved beside the cost when the pair involves the group the
        # last merge made; else the stored cost plus the two terms (its costs may have been taken with factors
        # since replaced by their stored form)
        cnt[io], trac[io], term[io] = nij, t[0], (tm[0] if involves_fresh else m + (term[io] + term[jo]))
        Ws[io] = stored_form(Wij[0], nij, p)
        members[io] = members[io] + members[jo]
        last = lg - 1
        if jo != last:
            sx[jo], cnt[jo], trac[jo], term[jo], Ws[jo] = sx[last], cnt[last], trac[last], term[last], Ws[last]
            members[jo] = members[last]
            for s_ in range(lg):
                if s_ not in (jo, last):
                    C[min(s_, jo), max(s_, jo)] = C[min(s_, last), max(s_, last)]
        lg -= 1
        C[:, lg:] = np.inf; C[lg:, :] = np.inf
        fresh = (io, Wij[0])
        if lg > 1:
            others = np.array([s_ for s_ in range(lg) if s_ != io])
            dij = pair(io, others)[0]
            for s_, dv in zip(others, dij):
                C[min(s_, io), max(s_, io)] = dv
    return merges, costs

if __name__ == "__main__":
    R = json.load(open(sys.argv[1]))
    for name, d in R.items():
        x = np.array(d['x']); n = len(x)
        merges, _ = hcvvv(x)
        bad = []
        for G in range(1, 10):
            lab = np.arange(n)
            for a, b in merges[:n - G]:
                la, lb = lab[a[0]], lab[b[0]]; lab[lab == lb] = la
            theirs = np.array([c[G - 1] for c in d['classes']])
            if len(set(zip(lab.tolist(), theirs.tolist()))) != G:
                bad.append(G)
        print(name, 'all G = 1..9 equal' if not bad else f'differs at G {bad}')
