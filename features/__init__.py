"""The example feature repo: view definitions as code.

`skewless apply --repo features/` registers them; every command then finds them in the
registry (skewless.registry.catalogue). The product never imports this package.
"""
