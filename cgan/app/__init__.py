"""``cgan-app``: a local page to play with a trained generator (Gradio).

    backend.py        the one small interface the page draws through
    open_file.py      open a checkpoint (PyTorch) or an exported ONNX file behind it
    torch_backend.py  a .ckpt through cgan.generation (the EMA generator when training kept one)
    onnx_backend.py   an .onnx file through onnxruntime alone: no torch, no Lightning
    views.py          the three pictures, in numpy: a class's grid, the same noise as every class, a walk
    page.py           the Gradio page over those views
    serve.py          checks, then serves it on 127.0.0.1 (``host=``/``port=`` for a lab server)

Nothing in this package imports torch at module level, so an ONNX page loads neither torch nor Lightning.
"""
