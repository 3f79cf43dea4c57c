"""What the reference document's examples assume: a ``values`` app with its
``IntegerValue`` model, its consumers, binding and routing."""
