"""``suite verify``: small independent checks of a signed result file, each with a one-line verdict.

Checks, in order (a check whose inputs failed is skipped, saying why):

``file``      readable JSON within the size limit
``envelope``  a signed result file: media type, DSSE envelope, in-toto Statement v1 payload
``schema``    the result follows the result schema, vectors aligned with ``arch_ids``
``digest``    the statement's subject is the sha256 of the result's RFC 8785 canonical JSON, and its
              predicate names the same benchmark, estimator, config, seed and protocol
``signature`` an Ed25519 signature over the envelope verifies under a trusted signer's key
``protocol``  the protocol version and fingerprint equal the installed suite's for this benchmark,
              ground-truth column and data; the seed is a protocol seed; the ground-truth column is
              the benchmark's protocol column (or the installed estimator's reference column)
``estimator`` (installed estimators) family, deterministic flag, resolved config and snapshot
              labels are the installed class's; components only where it combines them, and the
              scores are its combination of them
``coverage``  scored plus failed architectures are exactly the subset (or the declared seeded sample)
``metrics``   every criterion recomputed from the scores and the suite's ground truth matches
``rescorable`` the scores can be re-scored here: from the code alone, or from the trained weights
              beside the file whose content hashes the result signs; skipped (the scores are
              self-reported, :attr:`Report.scores`) when neither
``rerun``     (``--rerun K``) K architectures, drawn with a seed the verifier picks (and reports),
              re-scored here match the file (deterministic estimators; every snapshot of a trained
              one, from its weights; every architecture, exactly, of an exact one)
"""

from suite.verdict import Check, CheckSkipped, Report, Status
from .content import METRIC_ATOL, METRIC_RTOL, same_json_value
from .verifier import RERUN_ATOL, RERUN_RTOL, Verifier, find_files
