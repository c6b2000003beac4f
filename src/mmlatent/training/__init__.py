"""Lightning lives here and only here: the module wrapping any model, callbacks, trainer, fit."""
