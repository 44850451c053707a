"""PyTorch peer of `npm run bench`: the default MLP as a plain nn.Module training loop on the CPU, float32.

nn.Sequential of Linear / ReLU / Dropout, nn.CrossEntropyLoss, torch.optim.Adam with its defaults
(lr 1e-3), zero_grad(set_to_none=True), intra-op threads as PyTorch sets them unless --threads is given.
With --device cuda the model lives on the GPU and each batch is copied there (as a plain loop does);
the per-step loss read back (float()) synchronises every step, as in most training loops.
Run: /usr/bin/python3 bench/peers/torch_mlp.py --data-dir DIR [--threads N] [--device cuda]
"""
import torch
from torch import nn

from common import run


class TorchMlp:
    def __init__(self, args):
        torch.manual_seed(args.seed)
        if args.threads > 0:
            torch.set_num_threads(args.threads)
        layers = []
        widths = args.layers
        for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(nn.Linear(n_in, n_out))
            if i < len(widths) - 2:
                layers.append(nn.ReLU())
                if args.dropout > 0:
                    layers.append(nn.Dropout(args.dropout))
        self.device = torch.device(args.device if args.device == 'cpu' or torch.cuda.is_available() else 'cpu')
        self.model = nn.Sequential(*layers).to(self.device)
        make = torch.optim.SGD if args.optimizer == 'sgd' else torch.optim.Adam
        self.optimizer = make(self.model.parameters(), lr=args.lr)
        self.loss = nn.CrossEntropyLoss(reduction='mean')
        self.loss_sum = nn.CrossEntropyLoss(reduction='sum')

    def train_step(self, x, y):
        x, y = torch.from_numpy(x).to(self.device), torch.from_numpy(y).to(self.device)
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        logits = self.model(x)
        loss = self.loss(logits, y)
        loss.backward()
        self.optimizer.step()
        correct = int((logits.detach().argmax(dim=1) == y).sum())
        return float(loss.detach()) * len(y), correct

    def evaluate(self, x, y, batch):
        self.model.eval()
        loss_sum, correct = 0.0, 0
        with torch.no_grad():
            for start in range(0, len(y), batch):
                xb = torch.from_numpy(x[start : start + batch]).to(self.device)
                yb = torch.from_numpy(y[start : start + batch]).to(self.device)
                logits = self.model(xb)
                loss_sum += float(self.loss_sum(logits, yb))
                correct += int((logits.argmax(dim=1) == yb).sum())
        return loss_sum, correct


if __name__ == '__main__':
    run(
        'pytorch',
        torch.__version__,
        lambda args, rng: TorchMlp(args),
        lambda: {
            'threads': torch.get_num_threads(),
            'interopThreads': torch.get_num_interop_threads(),
            'cuda': torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        },
    )
