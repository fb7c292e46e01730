"""
==========================================================
V2VSLS against k-nearest neighbours on credit card default
==========================================================

The V2VSLS model of Xu & Klabjan is trained to reproduce, for every client, the
labels and the feature vectors of the client's 5 nearest neighbours, and
classifies by the labels it predicts. Here it is compared with the k-nearest
neighbours classifier it mimics on the default-of-credit-card-clients data
that ships with seqknn (30,000 clients, 22% defaults).
"""

# %%
# Load the data and hold out a test set
# -------------------------------------
import time

import matplotlib.pyplot as plt
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from seqknn import V2VSLSClassifier
from seqknn.datasets import load_credit_default

X, y = load_credit_default(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.2, stratify=y, random_state=0
)

# %%
# Fit both models
# ---------------
# V2VSLS standardises the features itself; kNN needs a scaler in front.
models = {
    "kNN (k=5)": make_pipeline(StandardScaler(), KNeighborsClassifier(5)),
    "V2VSLS": V2VSLSClassifier(random_state=0),
}
for name, model in models.items():
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    f1 = f1_score(y_test, model.predict(X_test), average="macro")
    print(f"{name:10s} macro-F1 {f1:.3f}  fit {seconds:.1f} s")

# %%
# What the network predicts besides the label
# -------------------------------------------
# For a new client, V2VSLS predicts the labels of the 5 nearest training
# clients and 5 out-of-sample feature vectors where those neighbours would be,
# in the units of the data.
v2vsls = models["V2VSLS"]
neighbors = v2vsls.predict_neighbors(X_test[:1])
print("predicted neighbour labels:", neighbors.labels[0])
print("credit limit of the client:", X_test[0, 0])
print("credit limits of the predicted neighbours:", neighbors.vectors[0, :, 0].round())

# %%
# Training history
# ----------------
# Each term of the loss L = L1 + lambda L2 on the training data, and the
# validation accuracy of every epoch (early stopping watches the validation
# cross-entropy and keeps the weights of its best epoch).
history = v2vsls.history_
fig, (ax_loss, ax_score) = plt.subplots(1, 2, figsize=(9, 3.5))
for term in ["neighbor_labels", "true_label", "neighbor_vectors"]:
    ax_loss.plot(history[term], label=term)
ax_loss.set(xlabel="epoch", ylabel="training loss term", yscale="log")
ax_loss.legend()
ax_score.plot(history["val_score"])
ax_score.set(xlabel="epoch", ylabel="validation accuracy")
fig.tight_layout()
plt.show()
