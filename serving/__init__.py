"""The trained model at run time, without HTTP: predictor, backends, TreeSHAP reasons, input rules, batch."""
