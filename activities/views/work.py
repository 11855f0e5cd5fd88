from django.http import HttpResponse


def today(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def activity_log(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def institution_lookup(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def activity_detail(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def activity_edit(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def evidence_add(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def evidence_file(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)
