"""PyTorch's nn.LSTM / nn.GRU on backprop_speed.py's shapes, for reference; needs an
environment with torch (not an rnnlab dependency), e.g.

    python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch numpy
    /tmp/torchvenv/bin/python benchmarks/torch_reference.py [--truncations 25 200]

One-hot characters [T, batch, classes] -> the recurrent layer(s) -> Linear -> mean
cross-entropy, Adagrad (lr 0.3, accumulators from 0.1), the state carried between
windows and detached (TBPTT). chars/s = windows x batch x T / median seconds of
--chars characters' worth of windows, after one untimed call.
"""
import argparse
import time

import numpy as np
import torch


def rate(cell, layers, units, batch, classes, T, chars, repeats=5):
    n = max(1, round(chars / (batch * T)))
    rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](classes, units, layers)
    out = torch.nn.Linear(units, classes)
    params = list(rnn.parameters()) + list(out.parameters())
    opt = torch.optim.Adagrad(params, lr=0.3, initial_accumulator_value=0.1)
    ids = torch.randint(0, classes, (n, T, batch))
    targets = torch.randint(0, classes, (n, T, batch))
    eye = torch.eye(classes)

    def windows():
        state = None
        for i in range(n):
            logits, state = rnn(eye[ids[i]], state)
            state = tuple(s.detach() for s in state) if cell == "lstm" else state.detach()
            loss = torch.nn.functional.cross_entropy(out(logits).reshape(-1, classes),
                                                     targets[i].reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()

    windows()
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        windows()
        seconds.append(time.perf_counter() - started)
    return n * batch * T / float(np.median(seconds))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", nargs="+", default=["lstm", "gru"])
    parser.add_argument("--truncations", nargs="+", type=int, default=[25, 50, 100, 200])
    parser.add_argument("--layers", nargs="+", type=int, default=[1])
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--classes", type=int, default=65)
    parser.add_argument("--chars", type=int, default=51200)
    args = parser.parse_args()
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print("| cell | layers | T | chars/s |")
    print("|---|---:|---:|---:|")
    for cell in args.cells:
        for layers in args.layers:
            for T in args.truncations:
                r = rate(cell, layers, args.units, args.batch, args.classes, T, args.chars)
                print(f"| {cell} | {layers} | {T} | {r:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
