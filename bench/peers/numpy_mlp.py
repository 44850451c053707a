"""NumPy peer of `npm run bench`: the default MLP trained with NumPy alone, float32, vectorised.

Every product is one BLAS sgemm call (OpenBLAS when Debian's libblas.so.3 alternative points at it);
parameters, gradients and Adam's moments are each one flat float32 array with per-tensor views, so
Adam is a handful of in-place passes over all 235,146 parameters, as on the GPU. Dropout masks come
from NumPy's PCG64 generator. Run: /usr/bin/python3 bench/peers/numpy_mlp.py --data-dir DIR
"""
import numpy as np

from common import BETA1, BETA2, EPS, openblas, run


class NumpyMlp:
    def __init__(self, rng, args):
        self.dropout, self.optimizer, self.lr = args.dropout, args.optimizer, args.lr
        pairs = list(zip(args.layers[:-1], args.layers[1:]))
        total = sum(o * i + o for i, o in pairs)
        self.params = np.zeros(total, np.float32)
        self.grads = np.zeros(total, np.float32)
        self.m = np.zeros(total, np.float32)
        self.v = np.zeros(total, np.float32)
        self.tmp = np.zeros(total, np.float32)
        self.t = 0
        # Views: W[l] [OUT, IN] (PyTorch's layout), b[l] [OUT]; dW, db likewise in the gradient array.
        self.W, self.b, self.dW, self.db = [], [], [], []
        offset = 0
        for i, o in pairs:
            self.W.append(self.params[offset : offset + o * i].reshape(o, i))
            self.dW.append(self.grads[offset : offset + o * i].reshape(o, i))
            offset += o * i
            self.b.append(self.params[offset : offset + o])
            self.db.append(self.grads[offset : offset + o])
            offset += o
        for W, (i, _) in zip(self.W, pairs):
            W[...] = rng.standard_normal(W.shape, dtype=np.float32) * np.float32(np.sqrt(2 / i))  # He init
        self.rng = rng

    def forward(self, x, train):
        """Logits [B, C], and per hidden layer the layer inputs, activations and scaled dropout masks."""
        inputs, acts, masks = [], [], []
        h = x
        last = len(self.W) - 1
        for l, (W, b) in enumerate(zip(self.W, self.b)):
            inputs.append(h)
            z = h @ W.T  # [B, OUT]
            z += b
            if l == last:
                return z, inputs, acts, masks
            np.maximum(z, 0, out=z)
            acts.append(z)
            if train and self.dropout > 0:
                mask = (self.rng.random(z.shape, dtype=np.float32) >= self.dropout).astype(np.float32)
                mask *= np.float32(1 / (1 - self.dropout))  # inverted dropout: kept units scaled by 1/keep
                masks.append(mask)
                h = z * mask
            else:
                h = z

    @staticmethod
    def softmax_xent(z, y):
        """Summed loss, correct count, and dL/dz of the mean loss, all float32."""
        rows = np.arange(z.shape[0])
        zmax = z.max(axis=1, keepdims=True)
        e = np.exp(z - zmax)
        s = e.sum(axis=1, keepdims=True)
        loss_sum = float(np.sum(np.log(s[:, 0]) + zmax[:, 0] - z[rows, y]))
        correct = int(np.count_nonzero(z.argmax(axis=1) == y))
        e /= s
        e[rows, y] -= 1
        e *= np.float32(1 / z.shape[0])
        return loss_sum, correct, e

    def train_step(self, x, y):
        z, inputs, acts, masks = self.forward(x, train=True)
        loss_sum, correct, dz = self.softmax_xent(z, y)
        for l in range(len(self.W) - 1, -1, -1):
            np.matmul(dz.T, inputs[l], out=self.dW[l])  # [OUT, IN]
            np.sum(dz, axis=0, out=self.db[l])
            if l > 0:
                dh = dz @ self.W[l]  # [B, IN]
                if masks:
                    dh *= masks[l - 1]
                np.multiply(dh, acts[l - 1] > 0, out=dh)  # relu'
                dz = dh
        if self.optimizer == 'sgd':
            self.grads *= np.float32(self.lr)  # plain SGD: one pass over the parameters
            self.params -= self.grads
        else:
            self.adam()
        return loss_sum, correct

    def adam(self):
        self.t += 1
        g, m, v, tmp = self.grads, self.m, self.v, self.tmp
        m *= np.float32(BETA1)
        np.multiply(g, np.float32(1 - BETA1), out=tmp)
        m += tmp
        v *= np.float32(BETA2)
        np.multiply(g, g, out=tmp)
        tmp *= np.float32(1 - BETA2)
        v += tmp
        bc1 = 1 - BETA1**self.t
        bc2 = 1 - BETA2**self.t
        np.multiply(v, np.float32(1 / bc2), out=tmp)
        np.sqrt(tmp, out=tmp)
        tmp += np.float32(EPS)
        np.divide(m, tmp, out=tmp)
        tmp *= np.float32(self.lr / bc1)
        self.params -= tmp

    def evaluate(self, x, y, batch):
        loss_sum, correct = 0.0, 0
        for start in range(0, len(y), batch):
            z, *_ = self.forward(x[start : start + batch], train=False)
            batch_loss, batch_correct, _ = self.softmax_xent(z, y[start : start + batch])
            loss_sum += batch_loss
            correct += batch_correct
        return loss_sum, correct


if __name__ == '__main__':
    def make(args, rng):
        if args.threads > 0 and openblas():
            openblas()[2](args.threads)
        return NumpyMlp(rng, args)

    run('numpy', np.__version__, make)
