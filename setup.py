from setuptools import find_packages, setup

with open("README.rst", encoding="utf-8") as readme:
    long_description = readme.read()

setup(
    name="channels_test",
    version="0.1.0",
    description=(
        "Message-driven Django in the Channels 1.x model (interface server, channel "
        "layers, workers, consumers) and its test toolkit, on today's Django."
    ),
    long_description=long_description,
    long_description_content_type="text/x-rst",
    license="BSD-3-Clause",
    packages=find_packages(include=["channels_test", "channels_test.*"]),
    include_package_data=True,
    python_requires=">=3.10",
    install_requires=[
        "Django>=4.2",
        "asgiref>=3.7,<4",
        "daphne>=4.1,<5",
        "msgpack>=1.0",
    ],
    extras_require={
        "redis": ["redis>=5.0"],
        "encryption": ["cryptography>=41"],
        "migrate": ["libcst>=1.1"],
        "tests": [
            "redis>=5.0",
            "cryptography>=41",
            "psycopg[binary]>=3.1",
            "selenium>=4.11",
            "splinter>=0.21",
            "websocket-client>=1.6",
            "uvicorn>=0.23",
            "wsproto>=1.2",
            "sphinx>=7",
            "libcst>=1.1",
            "pytest>=7",
            "pytest-django>=4.5",
        ],
    },
    # The pytest plugin (fixtures, markers); it loads only where pytest runs.
    entry_points={"pytest11": ["channels_test = channels_test.pytest_plugin"]},
    classifiers=[
        "Development Status :: 4 - Beta",
        "Environment :: Web Environment",
        "Framework :: Django",
        "Framework :: Django :: 4.2",
        "Framework :: Django :: 5.2",
        "Framework :: Django :: 6.0",
        "Framework :: Django :: 6.1",
        "Framework :: Pytest",
        "Intended Audience :: Developers",
        "License :: OSI Approved :: BSD License",
        "Operating System :: POSIX",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.13",
        "Topic :: Internet :: WWW/HTTP",
    ],
)
