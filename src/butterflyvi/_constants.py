"""Keys shared between the preprocessing, the model and the pairing tools."""

#: ``adata.uns`` key under which each ``pp.preprocess_*`` function stores its fitted state.
PP_UNS_KEY = "butterflyvi_preprocessing"

#: Modality kinds: each picks an encoder, a decoder, a loss, a masking rate and a KL weight.
EXPRESSION = "expression"
ACCESSIBILITY = "accessibility"
PROTEIN = "protein"
KINDS = (EXPRESSION, ACCESSIBILITY, PROTEIN)
