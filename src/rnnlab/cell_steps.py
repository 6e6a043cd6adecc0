"""Each from-scratch cell's equations as backprop.py runs them: one step forward, saving
what the step back needs, and one step back, from the gradient arriving at the step's
outputs to that of its pre-activations.

step(zx_t, state, W_h, b_h) -> (state, saved): zx_t = x_t @ W_x + b_x [(P,) B, G*U];
`saved` starts with the new state's tensors (what the next layer and the carried state
read), then whatever the step back needs.
back(d_out_t, saved_t, prev_t, carry, W_hT) -> (carry, dz): d_out_t is dL/dh_t from
above (the next layer or the output layer), carry dL/d(state_t) from step t + 1, prev_t
the state entering step t. dz: (dz_t,), the gradient of the pre-activations x_t W_x +
h_{t-1} W_h + b; the GRU's (dzx_t, dzh_t), of x_t W_x + b_x and of h_{t-1} W_h + b_h
apart, as its reset gate multiplies the latter.

The forward equations are cells.py's (tests check both against each other and against
GradientTape).
"""
from rnnlab._tf import tf
from rnnlab.cells import matmul


class Vanilla:
    """h = tanh(x W_x + h W_h + b)."""

    gates, bias_rows, dz_parts = 1, 1, 1  # dz_parts: the tensors `back` returns as dz
    extra_widths = ()  # of what `step` saves beside the state, in units

    @staticmethod
    def step(zx, state, W_h, b_h):
        h = tf.tanh(zx + matmul(state[0], W_h))
        return (h,), (h,)

    @staticmethod
    def back(d_out, saved, prev, carry, W_hT):
        (h,), (dh_next,) = saved, carry
        dz = (d_out + dh_next) * (1.0 - h * h)
        return (matmul(dz, W_hT),), (dz,)


class LSTM:
    """Gates i, f, g, o (Keras's order): c = f*c + i*g, h = o * tanh(c).

    All four activations are one tanh over the gates' full width, sigmoid(x) = 0.5 *
    tanh(x / 2) + 0.5: one fused loop instead of four over slices, and XLA's CPU tanh
    costs about half its sigmoid. tanh(c) is kept for the step back."""

    gates, bias_rows, dz_parts = 4, 1, 1
    extra_widths = (4, 1)  # the gates, tanh(c)

    @staticmethod
    def _scale(units, dtype):
        """[4U]: 0.5 where a gate is a sigmoid, 1 for the candidate g (a plain tanh)."""
        return tf.constant([0.5] * (2 * units) + [1.0] * units + [0.5] * units, dtype)

    @staticmethod
    def step(zx, state, W_h, b_h):
        h, c = state
        scale = LSTM._scale(h.shape[-1], h.dtype)
        gates = tf.tanh((zx + matmul(h, W_h)) * scale) * scale + (1.0 - scale)
        i, f, g, o = tf.split(gates, 4, axis=-1)
        c = f * c + i * g
        tanh_c = tf.tanh(c)
        h = o * tanh_c
        return (h, c), (h, c, gates, tanh_c)

    @staticmethod
    def back(d_out, saved, prev, carry, W_hT):
        (_, _, gates, tanh_c), (_, c_prev), (dh_next, dc_next) = saved, prev, carry
        i, f, g, o = tf.split(gates, 4, axis=-1)
        dh = d_out + dh_next
        dc = dc_next + dh * o * (1.0 - tanh_c * tanh_c)
        d_gates = tf.concat([dc * g, dc * c_prev, dc * i, dh * tanh_c], axis=-1)
        # The activations' slopes over the full width: a(1 - a) for a sigmoid, 1 - a^2
        # for g (2 * scale - 1 is 0 on sigmoid gates, 1 on g).
        candidate = 2.0 * LSTM._scale(i.shape[-1], gates.dtype) - 1.0
        slope = gates * (1.0 - gates) * (1.0 - candidate) + (1.0 - gates * gates) * candidate
        dz = d_gates * slope
        return (matmul(dz, W_hT), dc * f), (dz,)


class GRU:
    """Keras's GRU, reset gate after the recurrent product; gates z, r, candidate n:
    n = tanh(xn + r * (h W_hn + b_hn)), h = z*h + (1 - z)*n. Bias [2, 3U]: input, recurrent."""

    gates, bias_rows, dz_parts = 3, 2, 2
    extra_widths = (3, 1)  # z, r, n; the recurrent candidate h W_hn + b_hn

    @staticmethod
    def step(zx, state, W_h, b_h):
        h = state[0]
        zh = matmul(h, W_h) + b_h
        xz, xr, xn = tf.split(zx, 3, axis=-1)
        hz, hr, hn = tf.split(zh, 3, axis=-1)
        z, r = tf.sigmoid(xz + hz), tf.sigmoid(xr + hr)
        n = tf.tanh(xn + r * hn)
        h = z * h + (1.0 - z) * n
        return (h,), (h, tf.concat([z, r, n], axis=-1), hn)

    @staticmethod
    def back(d_out, saved, prev, carry, W_hT):
        (_, gates, hn), (h_prev,), (dh_next,) = saved, prev, carry
        z, r, n = tf.split(gates, 3, axis=-1)
        dh = d_out + dh_next
        dn = dh * (1.0 - z) * (1.0 - n * n)
        dz = dh * (h_prev - n) * z * (1.0 - z)
        dr = dn * hn * r * (1.0 - r)
        dzx = tf.concat([dz, dr, dn], axis=-1)
        dzh = tf.concat([dz, dr, dn * r], axis=-1)
        return (dh * z + matmul(dzh, W_hT),), (dzx, dzh)


CELL_MATH = {"vanilla": Vanilla, "lstm": LSTM, "gru": GRU}
