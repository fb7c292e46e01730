"""
==================================================
Synthetic samples of SMOTE, ADASYN and V2VSLS
==================================================

An oversampler adds synthetic minority samples. SMOTE interpolates between a
minority sample and one of its minority neighbours, ADASYN does the same with
more samples where the classes overlap, and :class:`~seqknn.V2VSLSSampler`
adds the out-of-sample neighbour vectors a V2VSLS network predicts (the
paper's Figure 5). Here the three are drawn side by side in a 2-D PCA
embedding of part of the credit-card default data.
"""

# %%
# Resample a subset of the credit-card data with each sampler
# -----------------------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from imblearn.over_sampling import ADASYN, SMOTE
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from seqknn import V2VSLSSampler
from seqknn.datasets import load_credit_default

X, y = load_credit_default(return_X_y=True)
X, _, y, _ = train_test_split(X, y, train_size=4000, stratify=y, random_state=0)
X = StandardScaler().fit_transform(X)

samplers = {
    "SMOTE": SMOTE(random_state=0),
    "ADASYN": ADASYN(random_state=0),
    # The paper's rule, as in its Figure 5; the default interpolates instead.
    "V2VSLS": V2VSLSSampler(generation="paper", random_state=0),
}
# The synthetic samples follow the originals in every resampled set.
synthetic = {name: s.fit_resample(X, y)[0][len(X) :] for name, s in samplers.items()}

# %%
# Draw originals and synthetic samples in one PCA embedding
# ---------------------------------------------------------
pca = PCA(n_components=2).fit(X)
original = pca.transform(X)
fig, axes = plt.subplots(1, 3, figsize=(12, 4), sharex=True, sharey=True)
for ax, (name, new) in zip(axes, synthetic.items(), strict=True):
    embedded = pca.transform(new)
    ax.scatter(*original[y == 0].T, s=3, c="lightgray", label="no default")
    ax.scatter(*original[y == 1].T, s=3, c="tab:blue", label="default")
    ax.scatter(*embedded.T, s=3, c="tab:red", alpha=0.4, label="synthetic default")
    # Total standard deviation of the synthetic samples in the embedding.
    spread = np.linalg.norm(embedded.std(axis=0))
    ax.set_title(f"{name}: {len(new)} synthetic, spread {spread:.2f}")
    ax.set_xlabel("PC 1")
axes[0].set_ylabel("PC 2")
axes[0].legend(loc="lower right", markerscale=4)
axes[0].set_xlim(-4, 8)
axes[0].set_ylim(-5, 6)
fig.tight_layout()
plt.show()
