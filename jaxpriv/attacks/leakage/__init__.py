"""Models that remember too much (Song, Ristenpart, Shmatikov, CCS 2017).

White-box encodings of training data into parameters (LSB, correlated value,
sign) with their decoders, and black-box capacity abuse (synthetic inputs whose
labels carry secret bits, read back through an oracle).
"""

from jaxpriv.attacks.leakage._bits import bit_error_rate
from jaxpriv.attacks.leakage._bits import bits_to_images
from jaxpriv.attacks.leakage._bits import images_to_bits
from jaxpriv.attacks.leakage._capacity import CapacityConfig
from jaxpriv.attacks.leakage._capacity import CapacityResult
from jaxpriv.attacks.leakage._capacity import bits_to_labels
from jaxpriv.attacks.leakage._capacity import capacity_abuse_augment
from jaxpriv.attacks.leakage._capacity import capacity_abuse_recover
from jaxpriv.attacks.leakage._capacity import labels_to_bits
from jaxpriv.attacks.leakage._capacity import synthetic_inputs
from jaxpriv.attacks.leakage._encodings import Decoded
from jaxpriv.attacks.leakage._encodings import Encoded
from jaxpriv.attacks.leakage._encodings import EncodingConfig
from jaxpriv.attacks.leakage._encodings import METHODS
from jaxpriv.attacks.leakage._encodings import correlation_penalty
from jaxpriv.attacks.leakage._encodings import decode_secret
from jaxpriv.attacks.leakage._encodings import encode_secret
from jaxpriv.attacks.leakage._encodings import encoding_capacity
from jaxpriv.attacks.leakage._encodings import kernel_vector
from jaxpriv.attacks.leakage._encodings import lsb_decode
from jaxpriv.attacks.leakage._encodings import lsb_encode
from jaxpriv.attacks.leakage._encodings import sign_penalty
from jaxpriv.attacks.leakage._encodings import with_kernel_vector

__all__ = [
    "CapacityConfig",
    "CapacityResult",
    "Decoded",
    "Encoded",
    "EncodingConfig",
    "METHODS",
    "bit_error_rate",
    "bits_to_images",
    "bits_to_labels",
    "capacity_abuse_augment",
    "capacity_abuse_recover",
    "correlation_penalty",
    "decode_secret",
    "encode_secret",
    "encoding_capacity",
    "images_to_bits",
    "kernel_vector",
    "labels_to_bits",
    "lsb_decode",
    "lsb_encode",
    "sign_penalty",
    "synthetic_inputs",
    "with_kernel_vector",
]
