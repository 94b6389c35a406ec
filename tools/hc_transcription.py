"""Work in progress for issue 27's hc start, not part of the package: a NumPy
transcription of mclust 6's model-based hierarchical agglomeration (hcVVV,
src/mclust.f's hcvvv), the reference for its port to the core.

    python tools/hc_transcription.py REFERENCE.json

REFERENCE.json: {name: {"x": rows, "classes": [[hclass(h, G) for G in 1..9] per row]}} from R,
e.g. with h <- hc(x, modelName = "VVV", use = "VARS").

On faithful, iris, diabetes and banknote it gives R's hclass partitions at
G = 1..9, and every one of the n - 1 merge costs equals the Fortran's (read
from hcvvv's d output) to 9e-14 relative. What it takes besides the criterion
(vvvtij, det2mc):

- triangular factors updated by Givens rotations as mclrup does them
  (drotg as reference BLAS 3.10+), not scatter matrices: with a zero pivot
  the factor is not W's Cholesky factor;
- the costs in mclust's packed order, the last minimum winning;
- the last slot moved into the merged-away one (wardsw);
- a merged group's stored rows, each a copy of its factor's first row read
  from column k on (hcvvv copies r(1,1) for every row); the group is costed
  with its true factor only right after it is made;
- the term of a group merged by the global scan: the stored cost plus the
  two terms.

It is O(n^2) in Python loops: 2.6 s at n = 200, 10.5 s at n = 400.
"""
import json
import math
import sys

import numpy as np

def drotg(a, b):
    """Vectorised reference-BLAS (LAPACK 3.10+) drotg: returns (r, c, s)."""
    a = np.asarray(a, float); b = np.asarray(b, float)
    an, bn = np.abs(a), np.abs(b)
    r = np.empty_like(a); c = np.empty_like(a); s = np.empty_like(a)
    zb = bn == 0
    za = (an == 0) & ~zb
    gen = ~zb & ~za
    c[zb], s[zb], r[zb] = 1.0, 0.0, a[zb]
    c[za], s[za], r[za] = 0.0, 1.0, b[za]
    if gen.any():
        ag, bg = a[gen], b[gen]
        scl = np.maximum(np.abs(ag), np.abs(bg))
        sigma = np.where(np.abs(ag) > np.abs(bg), np.sign(ag), np.sign(bg))
        rg = sigma * (scl * np.sqrt((ag / scl) ** 2 + (bg / scl) ** 2))
        r[gen], c[gen], s[gen] = rg, ag / rg, bg / rg
    return r, c, s

def mclrup(l, v, R, row0):
    """mclust's mclrup on a batch: R (m, p, p) trailing submatrix from (row0, row0); v (m, p - row0); l the
    nominal count (same for the batch)."""
    m_, p, _ = R.shape
    n = p - row0
    k = l - 1
    sub = R[:, row0:, row0:]
    if k <= n:
        sub[:, k - 1, :] = v
        if k == 1:
            return
        for i in range(k - 1):
            r, c, s = drotg(sub[:, i, i], sub[:, k - 1, i])
            sub[:, i, i] = r
            sub[:, k - 1, i] = 0.0
            x = sub[:, i, i + 1:].copy(); y = sub[:, k - 1, i + 1:].copy()
            sub[:, i, i + 1:] = c[:, None] * x + s[:, None] * y
            sub[:, k - 1, i + 1:] = c[:, None] * y - s[:, None] * x
    else:
        v = v.copy()
        for i in range(n):
            r, c, s = drotg(sub[:, i, i], v[:, i])
            sub[:, i, i] = r
            v[:, i] = 0.0
            if i + 1 < n:
                x = sub[:, i, i + 1:].copy(); y = v[:, i + 1:].copy()
                sub[:, i, i + 1:] = c[:, None] * x + s[:, None] * y
                v[:, i + 1:] = c[:, None] * y - s[:, None] * x

def seqdot(v):
    t = v[..., 0] * v[..., 0]
    for k in range(1, v.shape[-1]):
        t = t + v[..., k] * v[..., k]
    return t

def vvvtij(l, p, U, s, trac, alpha, beta):
    out = np.empty(len(l))
    for idx in range(len(l)):
        li, ti = float(l[idx]), float(trac[idx])
        if li <= p:
            val = math.log(beta * (ti + alpha) / li)
        elif ti == 0:
            val = math.log(alpha * beta / li)
        else:
            q = np.abs(np.diagonal(U[idx]) * s[idx])
            if (q <= 0).any():
                val = math.log(beta * (ti + alpha) / li)
            else:
                detlog = 2.0 * float(np.sum(np.log(q)))
                if detlog <= 0:
                    val = math.log(math.exp(detlog) + beta * (ti + alpha) / li)
                else:
                    val = math.log(1 + math.exp(-detlog) * (beta * (ti + alpha) / li)) + detlog
        out[idx] = li * val
    return out

def stored_rows(F, l, p):
    """hcvvv's stored factor: rows 1..min(l-1, p) each the factor's first row, read from column k on."""
    out = np.zeros((p, p))
    for k in range(min(int(l) - 1, p)):
        out[k, k:] = F[0, k:]
    return out

def hcvvv(x, beta=1.0):
    x = np.asarray(x, float); n, p = x.shape
    dev = x / math.sqrt(n * p); dev = dev - dev.mean(axis=0)
    alpha = max(float((dev ** 2).sum()), np.finfo(float).eps)
    ablog = math.log(beta * alpha)
    sx = x.copy(); cnt = np.ones(n, dtype=int); trac = np.zeros(n); term = np.full(n, ablog)
    S = np.zeros((n, p, p))          # stored rows
    members = [[i] for i in range(n)]
    C = np.full((n, n), np.inf)
    fresh = None                     # (slot, in-memory factor) of the group the last merge made

    def union(i, js, own_i):
        """Factors, traces and terms of i (factor own_i, (p, p)) with each j (stored), mclust's way."""
        ni = cnt[i]; nj = cnt[js]; nij = ni + nj; m = len(js)
        U = np.repeat(own_i[None], m, axis=0)
        U = np.triu(U)
        # append j's stored rows one by one (groups only), nominal count from ni + 1
        for idx, j in enumerate(js):
            if nj[idx] > 1:
                Uj = U[idx:idx + 1]
                rows = min(nj[idx] - 1, p)
                for r_ in range(rows):
                    mclrup(ni + 1 + r_, S[j, r_, r_:][None], Uj, r_)
                U[idx] = Uj[0]
        si = np.sqrt(ni / nij); sj = np.sqrt(nj / nij)
        v = sj[:, None] * sx[i] - si[:, None] * sx[js]
        t = (trac[i] + trac[js]) + seqdot(v)
        for idx in range(m):  # the between vector, at count nij
            Ui = U[idx:idx + 1]
            mclrup(int(nij[idx]), v[idx:idx + 1], Ui, 0)
            U[idx] = Ui[0]
        tm = vvvtij(nij, p, U, np.sqrt(1.0 / nij), t, alpha, beta)
        return tm - (term[i] + term[js]), t, tm, U

    for j in range(1, n):
        i = np.arange(j)
        v = (x[i] - x[j]) * 0.7071067811865476
        t = seqdot(v)
        C[i, j] = 2.0 * np.log(beta * (t + alpha) / 2.0) - (ablog + ablog)
    lg = n; merges = []; costs = []
    while lg > 1:
        iu = np.triu_indices(lg, 1)
        vals = C[:lg, :lg][iu]
        mval = vals.min()
        cand = np.flatnonzero(vals == mval)
        ii, jj = iu[0][cand], iu[1][cand]
        k = np.lexsort((ii, jj))[-1]
        io, jo = int(ii[k]), int(jj[k])
        merges.append((members[io][:], members[jo][:])); costs.append(mval)
        involves_fresh = fresh is not None and fresh[0] in (io, jo)
        if involves_fresh:  # the pair's factor from the recompute: the fresh group's in-memory factor first
            f, other = (io, jo) if fresh[0] == io else (jo, io)
            _, t, tm, U = union(f, np.array([other]), fresh[1])
            new_term = tm[0]
        else:               # the global scan: both groups' stored rows
            _, t, tm, U = union(io, np.array([jo]), S[io])
            new_term = mval + (term[io] + term[jo])
        ni, nj = cnt[io], cnt[jo]; nij = ni + nj
        sx[io] = math.sqrt(ni / nij) * sx[io] + math.sqrt(nj / nij) * sx[jo]
        cnt[io], trac[io], term[io] = nij, t[0], new_term
        S[io] = stored_rows(U[0], nij, p)
        members[io] = members[io] + members[jo]
        last = lg - 1
        if jo != last:
            sx[jo], cnt[jo], trac[jo], term[jo], S[jo] = sx[last], cnt[last], trac[last], term[last], S[last]
            members[jo] = members[last]
            for s_ in range(lg):
                if s_ not in (jo, last):
                    C[min(s_, jo), max(s_, jo)] = C[min(s_, last), max(s_, last)]
        lg -= 1
        C[:, lg:] = np.inf; C[lg:, :] = np.inf
        fresh = (io, np.triu(U[0]))
        if lg > 1:
            others = np.array([s_ for s_ in range(lg) if s_ != io])
            dij = union(io, others, fresh[1])[0]
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
