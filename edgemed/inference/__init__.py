"""Local models behind one interface: llama.cpp (GGUF), onnxruntime (ONNX), or none."""
