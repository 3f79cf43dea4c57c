from setuptools import setup

setup(
    name="notify",
    version="1.0",
    packages=["notify", "notifyproj"],
    install_requires=[
        "channels>=1.1,<2",
        "asgi_redis",
    ],
)
