"""edgemed-quantize: the model builder's pipeline (HF model -> GGUF ladder + ONNX, with a report).

Heavy imports (torch, transformers, optimum) live inside functions so ``--help`` stays instant.
"""
